package io.plaza.chat;

import io.plaza.platform.ProblemCode;

/** Chat's refusals a client can act on (problem and error-frame {@code code}s; never renamed: they are API). */
public enum ChatProblem implements ProblemCode {
  CONVERSATION_NOT_FOUND,
  CONVERSATION_EXISTS,
  NOT_A_MEMBER,
  /** Changing a group's members is for its admins. */
  NOT_AN_ADMIN,
  GROUP_FULL,
  OWNER_CANNOT_LEAVE,
  /** A direct conversation always has exactly its two users. */
  DIRECT_MEMBERS_FIXED,
  MESSAGE_NOT_FOUND,
  NOT_MESSAGE_AUTHOR,
  /** Edits and deletes are allowed for a while after sending. */
  EDIT_WINDOW_CLOSED,
  MESSAGE_DELETED,
  BODY_TOO_LARGE,
  /** A receipt for a seq beyond the conversation's last message. */
  SEQ_BEYOND_LAST
}
