package io.plaza.platform;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * One operation of the HTTP API: method, path template ({@code /v1/accounts/{id}}) and handler. Routes are built
 * from lists of these, so the OpenAPI document can be checked against exactly what the server answers.
 */
public final class Endpoint {

  /**
   * What a handler gets: the path parameters by name, the authenticated user (null on public endpoints) and whether
   * the token made them an administrator.
   */
  public record Call(Map<String, String> params, String userId, boolean admin) {
    public Call(Map<String, String> params, String userId) {
      this(params, userId, false);
    }

    public String param(String name) {
      return params.get(name);
    }
  }

  private static final Pattern PARAM = Pattern.compile("\\{([A-Za-z]+)}");

  private final HttpMethod method;
  private final String template;
  private final boolean authenticated;
  private final boolean stream;
  private final Function<Call, Route> handler;
  private final Pattern pattern;
  private final List<String> paramNames = new ArrayList<>();

  private Endpoint(HttpMethod method, String template, boolean authenticated, boolean stream,
      Function<Call, Route> handler) {
    this.method = method;
    this.template = template;
    this.authenticated = authenticated;
    this.stream = stream;
    this.handler = handler;
    Matcher m = PARAM.matcher(template);
    var regex = new StringBuilder("^");
    int last = 0;
    while (m.find()) {
      regex.append(Pattern.quote(template.substring(last, m.start()))).append("([^/]+)");
      paramNames.add(m.group(1));
      last = m.end();
    }
    regex.append(Pattern.quote(template.substring(last))).append("/?$");
    this.pattern = Pattern.compile(regex.toString());
  }

  public static Endpoint authenticated(HttpMethod method, String template, Function<Call, Route> handler) {
    return new Endpoint(method, template, true, false, handler);
  }

  public static Endpoint open(HttpMethod method, String template, Function<Call, Route> handler) {
    return new Endpoint(method, template, false, false, handler);
  }

  /**
   * A GET that opens a stream (WebSocket, server-sent events): besides the bearer token it accepts a stream ticket
   * as {@code ?ticket=}, which is what a browser's WebSocket or EventSource can send.
   */
  public static Endpoint stream(String template, Function<Call, Route> handler) {
    return new Endpoint(HttpMethods.GET, template, true, true, handler);
  }

  public static Endpoint get(String template, Function<Call, Route> handler) {
    return authenticated(HttpMethods.GET, template, handler);
  }

  public static Endpoint post(String template, Function<Call, Route> handler) {
    return authenticated(HttpMethods.POST, template, handler);
  }

  public HttpMethod method() {
    return method;
  }

  public String template() {
    return template;
  }

  public boolean requiresAuthentication() {
    return authenticated;
  }

  /** Accepts a stream ticket in place of the bearer token. */
  public boolean acceptsStreamTicket() {
    return stream;
  }

  Function<Call, Route> handler() {
    return handler;
  }

  /** The path parameters if {@code path} matches this template, else null. */
  Map<String, String> match(String path) {
    Matcher m = pattern.matcher(path);
    if (!m.matches()) return null;
    var params = new java.util.HashMap<String, String>(paramNames.size() * 2);
    for (int i = 0; i < paramNames.size(); i++) params.put(paramNames.get(i), m.group(i + 1));
    return params;
  }

  @Override
  public String toString() {
    return method.name() + " " + template;
  }
}
