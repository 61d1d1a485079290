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

  public static final ObjectMapper MAPPER = JsonMapper.builder()
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
              com.fasterxml.jackson.databind.cfg.CoercionAction.Fail))
      .build();

  private Json() {}

  public static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static <T> Marshaller<T, RequestEntity> marshaller() {
    return Jackson.marshaller(MAPPER);
  }

  /** Unmarshals a JSON body; a failure becomes a MalformedRequestContentRejection carrying the Jackson error. */
  public static <T> Unmarshaller<org.apache.pekko.http.javadsl.model.HttpEntity, T> unmarshaller(Class<T> type) {
    return Unmarshaller.forMediaType(MediaTypes.APPLICATION_JSON, Unmarshaller.entityToString())
        .thenApply(body -> {
          try {
            return MAPPER.readValue(body, type);
          } catch (JsonProcessingException e) {
            throw new MalformedJson(e);
          }
        });
  }

  /** Not an IllegalArgumentException on purpose: Pekko would turn that into a ValidationRejection. */
  public static final class MalformedJson extends RuntimeException {
    MalformedJson(JsonProcessingException cause) {
      super(describe(cause), cause);
    }
  }

  /** What was wrong with a body, in the client's terms: field paths and JSON types, never Java class names. */
  static String describe(JsonProcessingException e) {
    if (e instanceof UnrecognizedPropertyException u) {
      return "unknown field '" + path(u) + "'";
    }
    if (e instanceof InvalidFormatException f) {
      return "field '" + path(f) + "' must be " + jsonType(f.getTargetType());
    }
    if (e instanceof MismatchedInputException m) {
      if (m.getPath().isEmpty()) {
        return m.getOriginalMessage().startsWith("No content") ? "request body is empty; expected a JSON object"
            : "request body must be a JSON object";
      }
      return "field '" + path(m) + "' must be " + jsonType(m.getTargetType());
    }
    if (e instanceof JsonMappingException m && !m.getPath().isEmpty()) {
      return "field '" + path(m) + "' is invalid";
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
