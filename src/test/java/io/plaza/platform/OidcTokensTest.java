package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tokens of an OpenID Connect provider, against a JWKS this test serves over HTTP: RS256 and ES256 accepted, the
 * issuer, the audience and the expiry checked, a rotated key picked up without a restart, roles giving admin.
 */
class OidcTokensTest {

  private static final String ISSUER = "https://id.example.test/";
  private static final String AUDIENCE = "plaza-api";

  private HttpServer server;
  private final AtomicReference<JWKSet> published = new AtomicReference<>();
  private final AtomicInteger fetches = new AtomicInteger();
  private RSAKey rsa;
  private ECKey ec;
  private JwtAuth auth;

  @BeforeEach
  void start() throws Exception {
    rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
    ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
    published.set(new JWKSet(List.<JWK>of(rsa.toPublicJWK(), ec.toPublicJWK())));
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/jwks", exchange -> {
      fetches.incrementAndGet();
      var body = published.get().toString().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    var oidc = new OidcTokens("http://127.0.0.1:" + server.getAddress().getPort() + "/jwks", ISSUER, AUDIENCE,
        "sub", "roles", "plaza-admin", Duration.ofMinutes(15), Duration.ofSeconds(30));
    auth = new JwtAuth("a-dev-secret-of-at-least-32-bytes-long!!".getBytes(StandardCharsets.UTF_8), "plaza",
        Duration.ofSeconds(30), oidc);
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private static JWTClaimsSet.Builder claims(String subject) {
    return new JWTClaimsSet.Builder().subject(subject).issuer(ISSUER).audience(AUDIENCE)
        .expirationTime(Date.from(Instant.now().plusSeconds(300)));
  }

  private static String rs256(RSAKey key, JWTClaimsSet claims) throws Exception {
    var jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID())
        .type(JOSEObjectType.JWT).build(), claims);
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  @Test
  void rs256AndEs256TokensOfTheProviderAuthenticateTheirSubject() throws Exception {
    assertEquals(new JwtAuth.Authenticated("olga", false), auth.verify(rs256(rsa, claims("olga").build())));
    var jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(ec.getKeyID()).build(),
        claims("pavel").build());
    jwt.sign(new ECDSASigner(ec));
    assertEquals(new JwtAuth.Authenticated("pavel", false), auth.verify(jwt.serialize()));
    // The node's own HS256 tokens still work beside them.
    assertEquals(new JwtAuth.Authenticated("dev-user"), auth.verify(auth.mint("dev-user", Duration.ofMinutes(1))));
  }

  @Test
  void aWrongAudienceIssuerOrAnExpiredOrForeignSignedTokenIsRefused() throws Exception {
    assertTrue(auth.verify(rs256(rsa, claims("olga").audience("another-api").build())) instanceof JwtAuth.Refused);
    assertTrue(auth.verify(rs256(rsa, claims("olga").issuer("https://evil.test/").build()))
        instanceof JwtAuth.Refused);
    var expired = claims("olga").expirationTime(Date.from(Instant.now().minusSeconds(120))).build();
    assertEquals(new JwtAuth.Refused("token expired"), auth.verify(rs256(rsa, expired)));
    var stranger = new RSAKeyGenerator(2048).keyID("rsa-1").generate(); // the same key id, another key
    assertEquals(new JwtAuth.Refused("token signature is invalid"), auth.verify(rs256(stranger, claims("olga")
        .build())));
    assertTrue(auth.verify(rs256(rsa, claims("not a user id!").build())) instanceof JwtAuth.Refused);
  }

  @Test
  void aRotatedKeyIsFetchedWhenATokenNamesIt() throws Exception {
    assertTrue(auth.verify(rs256(rsa, claims("olga").build())) instanceof JwtAuth.Authenticated);
    int before = fetches.get();
    // The provider rotates: a new key joins the set (the old one is withdrawn).
    var next = new RSAKeyGenerator(2048).keyID("rsa-2").generate();
    published.set(new JWKSet(List.<JWK>of(next.toPublicJWK(), ec.toPublicJWK())));
    assertEquals(new JwtAuth.Authenticated("olga", false), auth.verify(rs256(next, claims("olga").build())));
    assertEquals(before + 1, fetches.get(), "the unknown key id fetched the set once");
    assertEquals(new JwtAuth.Authenticated("quinn", false), auth.verify(rs256(next, claims("quinn").build())));
    assertEquals(before + 1, fetches.get(), "then it is cached");
  }

  @Test
  void theAdminRoleInTheRolesClaimMakesAnAdministrator() throws Exception {
    assertEquals(new JwtAuth.Authenticated("root", true),
        auth.verify(rs256(rsa, claims("root").claim("roles", List.of("reader", "plaza-admin")).build())));
    assertEquals(new JwtAuth.Authenticated("olga", false),
        auth.verify(rs256(rsa, claims("olga").claim("roles", List.of("reader")).build())));
    var admins = new Admins(java.util.Set.of());
    var call = new Endpoint.Call(java.util.Map.of(), "root", true);
    assertTrue(admins.only(call, () -> null) == null, "an admin by role passes");
  }
}
