package io.plaza.platform;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.function.Predicate;

/**
 * A position in a newest-first list ordered by (time desc, id desc): the time and id of the last item a page
 * returned. The next page holds the items strictly after it, so items arriving meanwhile (newer) never shift it.
 * Opaque to clients (base64url).
 */
public record TimeIdCursor(Instant at, String id) {

  public String encode() {
    var raw = at.getEpochSecond() + "." + at.getNano() + "." + id;
    return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
  }

  /** The cursor, or null if {@code text} is not one this server made with an id that {@code validId} accepts. */
  public static TimeIdCursor decode(String text, Predicate<String> validId) {
    try {
      var raw = new String(Base64.getUrlDecoder().decode(text), StandardCharsets.UTF_8);
      var parts = raw.split("\\.", 3);
      var at = Instant.ofEpochSecond(Long.parseLong(parts[0]), Long.parseLong(parts[1]));
      if (parts[2].isEmpty() || !validId.test(parts[2])) return null;
      return new TimeIdCursor(at, parts[2]);
    } catch (RuntimeException e) {
      return null;
    }
  }
}
