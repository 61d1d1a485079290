package io.plaza.ledger;

import java.util.Currency;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** ISO-4217 currency codes accepted by the ledger: the JDK's list minus the codes that are not money. */
final class Currencies {
  private static final Pattern CODE = Pattern.compile("[A-Z]{3}");
  // Testing, "no currency" and precious-metal / fund codes are not wallet currencies.
  private static final Set<String> NOT_MONEY = Set.of("XXX", "XTS", "XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC",
      "XBD", "XDR", "XSU", "XUA");
  private static final Set<String> KNOWN = Currency.getAvailableCurrencies().stream()
      .map(Currency::getCurrencyCode)
      .filter(code -> !NOT_MONEY.contains(code))
      .collect(Collectors.toUnmodifiableSet());

  private Currencies() {}

  static boolean isKnown(String code) {
    return code != null && CODE.matcher(code).matches() && KNOWN.contains(code);
  }
}
