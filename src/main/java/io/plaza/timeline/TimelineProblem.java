package io.plaza.timeline;

import io.plaza.platform.ProblemCode;

/** The timeline's refusals a client can act on (problem {@code code}s; never renamed: they are API). */
public enum TimelineProblem implements ProblemCode {
  TEXT_TOO_LONG,
  POST_NOT_FOUND,
  NOT_POST_AUTHOR,
  /** Following someone you block: unblock first. */
  YOU_BLOCK_THEM,
  /** Following someone who blocks you. */
  BLOCKED_BY_THEM,
  FOLLOW_LIMIT,
  /** Following, muting or blocking yourself. */
  SELF_TARGET
}
