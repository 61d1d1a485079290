package io.plaza.platform;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.stream.Collectors;
import org.apache.pekko.http.javadsl.marshallers.jackson.Jackson;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.marshalling.Marshaller;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * The JSON mapper of the public API (HTTP bodies and the Kafka contracts). Strict on input: unknown fields,
 * fractions for integers, nulls for primitives and trailing garbage are errors, never silently coerced.
 */
public final class Json {

  public static final ObjectMapper MAPPER = builder().build();

  /**
   * What reads client input (request bodies, socket frames): {@link #MAPPER} plus {@link StorableValues}, and no
   * scalar coercion ("10" is not a number). Kafka records and other stored data are read with MAPPER, so a value
   * that was accepted before these rules existed still reads.
   */
  private static final ObjectMapper EDGE = builder()
      .disable(com.fasterxml.jackson.databind.MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .addModule(StorableValues.MODULE)
      .build();

  private static JsonMapper.Builder builder() {
    return JsonMapper.builder()
        .addModule(new JavaTimeModule())
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
        .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
        // A number or boolean where text is expected is a wrong type, not text.
        .withCoercionConfig(com.fasterxml.jackson.databind.type.LogicalType.Textual, config -> config
            .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.Integer,
                com.fasterxml.jackson.databind.cfg.CoercionAction.Fail)
            .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.Float,
                com.fasterxml.jackson.databind.cfg.CoercionAction.Fail)
            .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.Boolean,
                com.fasterxml.jackson.databind.cfg.CoercionAction.Fail));
  }

  private Json() {}

  public static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Reads a JSON object (a request body or a socket frame) into {@code type}. Anything else at the root ({@code null},
   * an array, a number, a string) is refused here, so no handler ever sees a null request.
   *
   * @throws MalformedJson with a detail for the client
   */
  public static <T> T readObject(String text, Class<T> type) {
    if (!startsWithObject(text)) {
      throw new MalformedJson(text.isBlank() ? "empty; expected a JSON object" : "expected a JSON object, not "
          + (text.strip().startsWith("[") ? "an array" : "a bare value"));
    }
    try {
      return EDGE.readValue(text, type);
    } catch (JsonProcessingException e) {
      throw new MalformedJson(e);
    } catch (RuntimeException e) {
      // A value Jackson parsed but a type could not hold (an Instant beyond the year 1e9, say).
      throw new MalformedJson("request body could not be read: " + e.getMessage());
    }
  }

  private static boolean startsWithObject(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '{') return true;
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
    }
    return false;
  }

  public static <T> Marshaller<T, RequestEntity> marshaller() {
    return Jackson.marshaller(MAPPER);
  }

  /** Unmarshals a JSON body; a failure becomes a MalformedRequestContentRejection carrying the Jackson error. */
  public static <T> Unmarshaller<org.apache.pekko.http.javadsl.model.HttpEntity, T> unmarshaller(Class<T> type) {
    return Unmarshaller.forMediaType(MediaTypes.APPLICATION_JSON, Unmarshaller.entityToString())
        .thenApply(body -> readObject(body, type));
  }

  /** Not an IllegalArgumentException on purpose: Pekko would turn that into a ValidationRejection. */
  public static final class MalformedJson extends RuntimeException {
    MalformedJson(JsonProcessingException cause) {
      super(describe(cause), cause);
    }

    MalformedJson(String detail) {
      super(detail);
    }
  }

  /** What was wrong with a body, in the client's terms: field paths and JSON types, never Java class names. */
  static String describe(JsonProcessingException e) {
    if (e instanceof StorableValues.Unstorable u) {
      return "field '" + path(u) + "' " + u.reason();
    }
    if (e instanceof UnrecognizedPropertyException u) {
      return "unknown field '" + path(u) + "'";
    }
    if (e instanceof InvalidFormatException f) {
      return "field '" + path(f) + "' must be " + jsonType(f.getTargetType());
    }
    if (e instanceof MismatchedInputException m) {
      if (m.getPath().isEmpty()) {
        return m.getOriginalMessage().startsWith("No content") ? "empty; expected a JSON object"
            : "expected a JSON object";
      }
      return "field '" + path(m) + "' must be " + jsonType(m.getTargetType());
    }
    if (e instanceof JsonMappingException m && !m.getPath().isEmpty()) {
      var why = String.valueOf(m.getOriginalMessage());
      return "field '" + path(m) + "' " + (why.contains("out of range") ? "is out of range" : "is invalid");
    }
    var location = Optional.ofNullable(e.getLocation())
        .map(l -> " at line " + l.getLineNr() + ", column " + l.getColumnNr()).orElse("");
    // Jackson appends parser internals ("(start marker at [Source: ...])"): the client needs only the first clause.
    var message = e.getOriginalMessage().lines().findFirst().orElse("")
        .replaceAll("\\s*\\(start marker.*$", "").replaceAll("\\s*at \\[Source.*$", "");
    return "malformed JSON" + location + ": " + message;
  }

  private static String path(JsonMappingException e) {
    return e.getPath().stream()
        .map(ref -> ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]")
        .collect(Collectors.joining("."));
  }

  private static String jsonType(Class<?> type) {
    if (type == null) return "of another type";
    if (type == long.class || type == Long.class || type == int.class || type == Integer.class) {
      return "an integer";
    }
    if (type == boolean.class || type == Boolean.class) return "true or false";
    if (type == String.class) return "a string";
    if (Number.class.isAssignableFrom(type) || type.isPrimitive()) return "a number";
    return "a JSON object";
  }
}
