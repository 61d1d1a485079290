package io.plaza.platform;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.source.ImmutableSecret;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import com.nimbusds.jwt.proc.ExpiredJWTException;
import com.typesafe.config.Config;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Bearer tokens (nimbus-jose-jwt): HS256 tokens signed with the node's secret (dev tokens, internal clients:
 * subject = user id, issuer and expiry checked) and, when {@code plaza.auth.oidc.jwks-url} is set, RS256 / ES256
 * tokens of an OpenID Connect provider ({@link OidcTokens}).
 */
public final class JwtAuth {

  /** User ids are path- and log-safe. */
  public static final Pattern USER_ID = Pattern.compile("[A-Za-z0-9._@-]{1,64}");

  /** The outcome of checking a token: a user id, or why the token was refused. */
  public sealed interface Verdict {}

  /** {@code admin}: the token carries the administrator role (OIDC); admin-users are listed in {@link Admins}. */
  public record Authenticated(String userId, boolean admin) implements Verdict {
    public Authenticated(String userId) {
      this(userId, false);
    }
  }

  public record Refused(String reason) implements Verdict {}

  /** Verified HS256 tokens: a client sends the same token with every request until it expires. */
  private static final int VERIFIED_TOKENS = 50_000;

  /** A token verified before, good until {@code expires} (its exp plus the allowed clock skew). */
  private record Verified(Authenticated user, Instant expires) {}

  private final byte[] secret;
  private final String issuer;
  private final Duration clockSkew;
  private final java.time.Clock clock;
  private final com.github.benmanes.caffeine.cache.Cache<String, Verified> verified =
      com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(VERIFIED_TOKENS).build();
  private final DefaultJWTProcessor<SecurityContext> processor;
  private final OidcTokens oidc;

  public JwtAuth(byte[] secret, String issuer, Duration clockSkew) {
    this(secret, issuer, clockSkew, null);
  }

  JwtAuth(byte[] secret, String issuer, Duration clockSkew, OidcTokens oidc) {
    this(secret, issuer, clockSkew, oidc, java.time.Clock.systemUTC());
  }

  JwtAuth(byte[] secret, String issuer, Duration clockSkew, OidcTokens oidc, java.time.Clock clock) {
    this.oidc = oidc;
    this.clockSkew = clockSkew;
    this.clock = clock;
    if (secret.length < 32) {
      throw new IllegalArgumentException("plaza.auth.jwt-secret must be at least 32 bytes for HS256");
    }
    this.secret = secret.clone();
    this.issuer = issuer;
    processor = new DefaultJWTProcessor<>();
    processor.setJWSKeySelector(
        new JWSVerificationKeySelector<>(JWSAlgorithm.HS256, new ImmutableSecret<>(this.secret)));
    var verifier = new DefaultJWTClaimsVerifier<SecurityContext>(
        new JWTClaimsSet.Builder().issuer(issuer).build(), Set.of("sub", "exp")) {
      @Override
      protected Date currentTime() {
        return Date.from(clock.instant()); // the clock the cache of verified tokens expires by
      }
    };
    verifier.setMaxClockSkew((int) clockSkew.toSeconds());
    processor.setJWTClaimsSetVerifier(verifier);
  }

  /** From config: the configured secret, or in dev mode the dev secret when none is set. */
  public static JwtAuth fromConfig(Config config) {
    var auth = config.getConfig("plaza.auth");
    var secret = auth.getString("jwt-secret");
    if (secret.isEmpty()) {
      if (!config.getBoolean("plaza.dev-mode")) {
        throw new IllegalStateException("PLAZA_JWT_SECRET (plaza.auth.jwt-secret) must be set outside dev mode");
      }
      secret = auth.getString("dev-jwt-secret");
    }
    return new JwtAuth(secret.getBytes(StandardCharsets.UTF_8), auth.getString("issuer"),
        auth.getDuration("clock-skew"), OidcTokens.fromConfig(auth));
  }

  public String mint(String userId, Duration ttl) {
    if (!USER_ID.matcher(userId).matches()) {
      throw new IllegalArgumentException("user id must match " + USER_ID.pattern());
    }
    var now = clock.instant();
    var claims = new JWTClaimsSet.Builder()
        .subject(userId)
        .issuer(issuer)
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(ttl)))
        .build();
    var jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
    try {
      jwt.sign(new MACSigner(secret));
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign token", e);
    }
    return jwt.serialize();
  }

  public Verdict verify(String token) {
    // The same string verified before: its signature, issuer and subject are what they were, only time moves on.
    var known = verified.getIfPresent(token);
    if (known != null) {
      if (clock.instant().isBefore(known.expires())) return known.user();
      verified.invalidate(token);
    }
    try {
      var algorithm = com.nimbusds.jose.JWSHeader.parse(
          com.nimbusds.jose.util.Base64URL.from(token.split("\\.", 2)[0])).getAlgorithm();
      if (!JWSAlgorithm.HS256.equals(algorithm)) {
        if (oidc == null) return new Refused("token algorithm " + algorithm + " is not accepted (no OIDC provider)");
        return oidc.verify(token);
      }
      var claims = processor.process(token, null);
      var subject = claims.getSubject();
      if (subject == null || !USER_ID.matcher(subject).matches()) return new Refused("token subject is not a user id");
      var user = new Authenticated(subject);
      verified.put(token, new Verified(user, claims.getExpirationTime().toInstant().plus(clockSkew)));
      return user;
    } catch (ExpiredJWTException e) {
      return new Refused("token expired");
    } catch (BadJWTException e) {
      return new Refused("token rejected: " + e.getMessage());
    } catch (ParseException e) {
      return new Refused("token is not a JWT");
    } catch (BadJOSEException | JOSEException e) {
      return new Refused("token signature is invalid");
    } catch (Exception e) {
      // The provider's key set could not be fetched (network, a bad JWKS document): not the caller's fault to fix.
      return new Refused("token could not be checked: " + e.getMessage());
    }
  }
}
