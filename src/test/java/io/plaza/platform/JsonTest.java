package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Client input is read strictly: only objects, no coercion, nothing that could not be stored or sent on. */
class JsonTest {

  record Leg(String reference, Long amount) {}

  record Body(String text, Long amount, Double lat, double lng, List<String> users, List<Leg> legs) {}

  private static String refusal(String json) {
    return assertThrows(Json.MalformedJson.class, () -> Json.readObject(json, Body.class)).getMessage();
  }

  @ParameterizedTest
  @ValueSource(strings = {"null", " null ", "[]", "[{}]", "1", "\"text\"", "true", "", "  "})
  void aRootThatIsNotAnObjectIsRefusedNeverReadAsNull(String json) {
    assertTrue(refusal(json).contains("JSON object"), refusal(json));
  }

  @Test
  void loneSurrogatesAreRefusedWhereverTheTextIs() {
    assertEquals("field 'text' contains a lone UTF-16 surrogate at index 0 (malformed Unicode text)",
        refusal("{\"text\":\"\\ud800abc\",\"lng\":1}"));
    assertTrue(refusal("{\"text\":\"abc\\udc00\",\"lng\":1}").startsWith("field 'text' contains a lone"));
    assertTrue(refusal("{\"users\":[\"ok\",\"\\ud83d\"],\"lng\":1}").startsWith("field 'users.[1]' contains"),
        refusal("{\"users\":[\"ok\",\"\\ud83d\"],\"lng\":1}"));
    assertTrue(refusal("{\"legs\":[{\"reference\":\"x\\ud800\"}],\"lng\":1}")
        .startsWith("field 'legs.[0].reference' contains"));
  }

  @Test
  void controlCharactersOtherThanTabAndLineBreaksAreRefused() {
    assertEquals("field 'text' contains the control character U+0000 at index 1",
        refusal("{\"text\":\"a\\u0000b\",\"lng\":1}"));
    assertTrue(refusal("{\"text\":\"\\u001b[31m\",\"lng\":1}").contains("U+001B"));
    var ok = Json.readObject("{\"text\":\"line\\n\\tnext\\r\\n😀 é\",\"lng\":1}", Body.class);
    assertEquals("line\n\tnext\r\n😀 é", ok.text());
  }

  @Test
  void numbersMustBeFiniteAndOfTheirOwnType() {
    assertEquals("field 'lat' must be a finite number", refusal("{\"lat\":1e999,\"lng\":1}"));
    assertEquals("field 'lng' must be a finite number", refusal("{\"lng\":-1e400}"));
    assertTrue(refusal("{\"lat\":\"10\",\"lng\":1}").startsWith("field 'lat' must be"), refusal("{\"lat\":\"10\"}"));
    assertTrue(refusal("{\"amount\":\"10\",\"lng\":1}").startsWith("field 'amount' must be an integer"));
    assertTrue(refusal("{\"lng\":\"1\"}").startsWith("field 'lng' must be"));
    assertTrue(refusal("{\"text\":10,\"lng\":1}").startsWith("field 'text' must be a string"));
    var range = refusal("{\"amount\":99999999999999999999,\"lng\":1}");
    assertTrue(range.contains("amount") && range.contains("range"), range);
    var ok = Json.readObject("{\"lat\":10,\"lng\":-0.5,\"amount\":7}", Body.class);
    assertEquals(10.0, ok.lat());
    assertEquals(7L, ok.amount());
  }

  @Test
  void printableReplacesWhatCannotBeEncodedAndKeepsTheRest() {
    assertEquals("a\uFFFDb😀\uFFFD", StorableValues.printable("a\ud800b😀\u0007"));
    assertEquals("plain", StorableValues.printable("plain"));
    // A problem's detail echoing such input still serializes.
    assertTrue(Json.write(new Problems.Problem("urn:plaza:problem:invalid-request", "Invalid request", 400,
        StorableValues.printable("unknown field '\udc00'"), "invalid-request")).contains("\uFFFD"));
  }
}
