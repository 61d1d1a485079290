package io.plaza.platform;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.dialect.Dialects;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The contract in {@code asyncapi.yaml} (as the build packs it), checked against every WebSocket frame, stream event
 * and Kafka record an integration test receives: the channel is found by its address (a socket's path, or the end of
 * a topic name: test runs prefix their topics), the message among what Plaza sends on it by its {@code type}, and the
 * frame is valid against that message's payload (JSON Schema draft 7, which AsyncAPI schemas extend).
 */
public final class AsyncContract {

  private static final AsyncContract INSTANCE = new AsyncContract(
      new SchemaDocument("asyncapi.yaml", Dialects.getDraft7()));

  private final SchemaDocument contract;

  private AsyncContract(SchemaDocument contract) {
    this.contract = contract;
  }

  public static AsyncContract get() {
    return INSTANCE;
  }

  /** What in {@code json}, sent by Plaza on {@code address} (a socket path or a topic), the contract does not allow. */
  public List<String> violations(String address, String json) {
    var channel = channel(address.split("\\?", 2)[0]);
    if (channel.isEmpty()) return List.of(address + " is no documented channel");
    JsonNode frame;
    try {
      frame = Json.MAPPER.readTree(json);
    } catch (Exception e) {
      return List.of(address + ": not JSON: " + SchemaDocument.abbreviate(json));
    }
    var type = frame.path("type").asText(null);
    var candidates = new ArrayList<String>();
    for (var message : sentOn(channel.get())) {
      var types = contract.at(message).path("payload").path("properties").path("type");
      if (types.path("const").asText("").equals(type) || contains(types.path("enum"), type)) candidates.add(message);
    }
    if (candidates.isEmpty()) {
      return List.of(address + ": Plaza sends no message of type '" + type + "' here: "
          + SchemaDocument.abbreviate(json));
    }
    var found = new ArrayList<String>();
    for (var message : candidates) {
      var errors = contract.violations(message.substring(1) + "/payload", json);
      if (errors.isEmpty()) return List.of();
      found.add(message + ": " + errors);
    }
    return List.of(address + ": " + found + " in " + SchemaDocument.abbreviate(json));
  }

  private Optional<String> channel(String address) {
    var channels = contract.document().path("channels");
    var names = new ArrayList<String>();
    channels.fieldNames().forEachRemaining(names::add);
    return names.stream().filter(name -> {
      var documented = channels.path(name).path("address").asText();
      return address.equals(documented) || address.endsWith("." + documented);
    }).findFirst();
  }

  /** The messages (as #/components/messages/... references) of the operations in which Plaza sends on a channel. */
  private List<String> sentOn(String channel) {
    var messages = new ArrayList<String>();
    contract.document().path("operations").elements().forEachRemaining(operation -> {
      if (!"send".equals(operation.path("action").asText())
          || !operation.path("channel").path("$ref").asText().equals("#/channels/" + channel)) {
        return;
      }
      if (operation.has("messages")) {
        operation.path("messages").elements().forEachRemaining(m -> messages.add(component(m.path("$ref").asText())));
      } else {
        contract.document().path("channels").path(channel).path("messages").elements()
            .forEachRemaining(m -> messages.add(m.path("$ref").asText()));
      }
    });
    return messages;
  }

  /** A channel's message reference followed to the component it names. */
  private String component(String channelMessageRef) {
    return contract.at(channelMessageRef).path("$ref").asText();
  }

  private static boolean contains(JsonNode values, String value) {
    for (var v : values) {
      if (v.asText().equals(value)) return true;
    }
    return false;
  }
}
