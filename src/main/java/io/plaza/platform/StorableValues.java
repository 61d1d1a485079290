package io.plaza.platform;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.deser.BeanDeserializerModifier;
import com.fasterxml.jackson.databind.deser.std.DelegatingDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;

/**
 * Refuses, while a request or frame is parsed, the values that are valid JSON but that Plaza could not store or send
 * on: text with a lone UTF-16 surrogate (JSON allows {@code "\ud800"}; CBOR and UTF-8 do not, so the event would fail
 * to persist and poison its entity), text with control characters other than tab, line feed and carriage return, and
 * numbers that parse to NaN or infinity ({@code 1e999}), which JSON output cannot carry. Every text and floating-point
 * field of every request and frame goes through here, nested ones and list elements included.
 */
public final class StorableValues {

  static final SimpleModule MODULE = new SimpleModule("plaza-storable-values")
      .setDeserializerModifier(new BeanDeserializerModifier() {
        @Override
        public JsonDeserializer<?> modifyDeserializer(DeserializationConfig config, BeanDescription description,
            JsonDeserializer<?> deserializer) {
          var type = description.getBeanClass();
          if (type == String.class || type == Double.class || type == double.class || type == Float.class
              || type == float.class) {
            return new Checked(deserializer);
          }
          return deserializer;
        }
      });

  private StorableValues() {}

  /** Why {@code text} cannot be stored, or null when it can. */
  public static String problem(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
          i++;
          continue;
        }
        return "contains a lone UTF-16 surrogate at index " + i + " (malformed Unicode text)";
      }
      if (Character.isLowSurrogate(c)) {
        return "contains a lone UTF-16 surrogate at index " + i + " (malformed Unicode text)";
      }
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
        return "contains the control character U+" + String.format("%04X", (int) c) + " at index " + i;
      }
    }
    return null;
  }

  /** {@code text} with every lone surrogate replaced by U+FFFD, for echoing client input back in an error. */
  public static String printable(String text) {
    if (text == null || problem(text) == null) return text;
    var out = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean pair = Character.isHighSurrogate(c) && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1));
      if (pair) {
        out.append(c).append(text.charAt(++i));
      } else if (Character.isSurrogate(c) || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
        out.append('\uFFFD');
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /** A value refused by these rules; Jackson adds the field path on its way out. */
  public static final class Unstorable extends JsonMappingException {
    private final String reason;

    Unstorable(JsonParser parser, String reason) {
      super(parser, reason);
      this.reason = reason;
    }

    public String reason() {
      return reason;
    }
  }

  /** Wraps Jackson's own deserializer of a text or floating-point type and checks what it produced. */
  private static final class Checked extends DelegatingDeserializer {
    Checked(JsonDeserializer<?> delegate) {
      super(delegate);
    }

    @Override
    protected JsonDeserializer<?> newDelegatingInstance(JsonDeserializer<?> newDelegatee) {
      return new Checked(newDelegatee);
    }

    @Override
    public Object deserialize(JsonParser parser, DeserializationContext context) throws IOException {
      var value = super.deserialize(parser, context);
      if (value instanceof String text) {
        var problem = problem(text);
        if (problem != null) throw new Unstorable(parser, problem);
      } else if (value instanceof Double d && !Double.isFinite(d)) {
        throw new Unstorable(parser, "must be a finite number");
      } else if (value instanceof Float f && !Float.isFinite(f)) {
        throw new Unstorable(parser, "must be a finite number");
      }
      return value;
    }
  }
}
