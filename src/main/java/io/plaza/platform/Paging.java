package io.plaza.platform;

import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;

import java.util.function.BiFunction;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.server.Route;

/** The `cursor` and `limit` query parameters of every paged list: validated, limit 1..100, 20 by default. */
public final class Paging {

  public static final int DEFAULT_LIMIT = 20;
  public static final int MAX_LIMIT = 100;
  private static final Pattern NUMBER = Pattern.compile("[0-9]{1,18}");

  /**
   * Runs {@code inner} with the cursor (null when absent) and the limit, or answers 400 when the cursor does not
   * match {@code cursorPattern} ({@code cursorWhat} says what it should be) or the limit is out of range.
   */
  public static Route params(String cursorName, Pattern cursorPattern, String cursorWhat,
      BiFunction<String, Integer, Route> inner) {
    return parameterOptional(cursorName, cursor ->
        parameterOptional("limit", limit -> {
          if (cursor.isPresent() && !cursorPattern.matcher(cursor.get()).matches()) {
            return Problems.badRequest(cursorName + " must be the nextCursor of a previous page (" + cursorWhat + ")");
          }
          if (limit.isPresent() && (!NUMBER.matcher(limit.get()).matches() || Long.parseLong(limit.get()) < 1
              || Long.parseLong(limit.get()) > MAX_LIMIT)) {
            return Problems.badRequest("limit must be an integer from 1 to " + MAX_LIMIT);
          }
          return inner.apply(cursor.orElse(null), limit.map(Integer::parseInt).orElse(DEFAULT_LIMIT));
        }));
  }

  private Paging() {}
}
