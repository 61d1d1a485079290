package io.plaza.platform;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import com.typesafe.config.Config;
import java.net.MalformedURLException;
import java.net.URI;
import java.time.Duration;
import java.util.Collection;
import java.util.Set;

/**
 * Tokens from an OpenID Connect provider: RS256 / ES256 signatures checked against the provider's JWKS (fetched from
 * {@code jwks-url}, cached, fetched again when a token names a key it does not know — key rotation), issuer and
 * audience checked, the user id from a claim ({@code sub} by default), administrators by a role in a claim.
 */
final class OidcTokens {

  private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
  private final String userClaim;
  private final String rolesClaim;
  private final String adminRole;

  OidcTokens(String jwksUrl, String issuer, String audience, String userClaim, String rolesClaim, String adminRole,
      Duration cacheFor, Duration clockSkew) {
    if (issuer.isEmpty() || audience.isEmpty()) {
      throw new IllegalArgumentException("plaza.auth.oidc needs issuer and audience besides jwks-url");
    }
    try {
      var keys = JWKSourceBuilder.<SecurityContext>create(URI.create(jwksUrl).toURL())
          .cache(cacheFor.toMillis(), 15_000)
          // An unknown key id fetches the set again, at most every 30 s (a forged kid cannot make us hammer the IdP).
          .rateLimited(30_000)
          .build();
      processor.setJWSKeySelector(new JWSVerificationKeySelector<>(Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256),
          keys));
    } catch (MalformedURLException | IllegalArgumentException e) {
      throw new IllegalArgumentException("plaza.auth.oidc.jwks-url is not a URL: " + jwksUrl, e);
    }
    var verifier = new DefaultJWTClaimsVerifier<SecurityContext>(audience,
        new JWTClaimsSet.Builder().issuer(issuer).build(), Set.of("exp", userClaim));
    verifier.setMaxClockSkew((int) clockSkew.toSeconds());
    processor.setJWTClaimsSetVerifier(verifier);
    this.userClaim = userClaim;
    this.rolesClaim = rolesClaim;
    this.adminRole = adminRole;
  }

  /** From {@code plaza.auth.oidc}, or null when no JWKS URL is configured. */
  static OidcTokens fromConfig(Config auth) {
    var oidc = auth.getConfig("oidc");
    if (oidc.getString("jwks-url").isEmpty()) return null;
    return new OidcTokens(oidc.getString("jwks-url"), oidc.getString("issuer"), oidc.getString("audience"),
        oidc.getString("user-claim"), oidc.getString("roles-claim"), oidc.getString("admin-role"),
        oidc.getDuration("jwks-cache"), auth.getDuration("clock-skew"));
  }

  JwtAuth.Verdict verify(String token) throws Exception {
    var claims = processor.process(token, null);
    var user = claims.getClaim(userClaim);
    if (!(user instanceof String id) || !JwtAuth.USER_ID.matcher(id).matches()) {
      return new JwtAuth.Refused("token claim " + userClaim + " is not a user id");
    }
    return new JwtAuth.Authenticated(id, hasRole(claims.getClaim(rolesClaim)));
  }

  /** Roles as a list, or as a space- or comma-separated string (both are common). */
  private boolean hasRole(Object roles) {
    if (roles instanceof Collection<?> list) return list.stream().anyMatch(adminRole::equals);
    if (roles instanceof String text) return Set.of(text.split("[ ,]+")).contains(adminRole);
    return false;
  }
}
