package io.plaza.ledger;

import io.plaza.platform.ProblemCode;

/** The ledger's refusals a client can act on (problem {@code code}s; never renamed: they are API). */
public enum LedgerProblem implements ProblemCode {
  /** The debit would take the balance below zero (or below the overdraft limit). */
  INSUFFICIENT_FUNDS,
  CURRENCY_MISMATCH,
  UNKNOWN_CURRENCY,
  ACCOUNT_NOT_FOUND,
  ACCOUNT_CLOSED,
  /** The account belongs to another user. */
  NOT_ACCOUNT_OWNER,
  /** Opening an account id that exists with other terms. */
  ACCOUNT_EXISTS,
  /** The movement would overflow a 64-bit balance. */
  BALANCE_OVERFLOW,
  /** Closing an account that has money, holds or expected credits. */
  ACCOUNT_NOT_SETTLED,
  /** The Idempotency-Key was used before for a different request. */
  IDEMPOTENCY_KEY_REUSED,
  TRANSFER_NOT_FOUND,
  /** The transfer (or batch) was made by another user. */
  NOT_TRANSFER_OWNER,
  /** Post or void of a transfer that is not a pending one. */
  NOT_PENDING,
  /** Post or void before the hold is placed: retry once it is HELD. */
  HOLD_NOT_PLACED,
  HOLD_EXPIRED,
  /** Post or void of a pending transfer already posted, voided or being voided. */
  HOLD_SETTLED,
  /** A post for more than the held amount (or nothing). */
  POST_AMOUNT_INVALID,
  /** The transfer ended (failed, compensated, completed) and cannot be posted, voided or reversed that way. */
  TRANSFER_ENDED,
  /** Reversing a transfer that is not completed, or is itself a reversal. */
  NOT_REVERSIBLE,
  /** The destination refused the credit; the debit was refunded. */
  CREDIT_REFUSED,
  BATCH_NOT_FOUND
}
