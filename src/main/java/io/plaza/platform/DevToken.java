package io.plaza.platform;


/** {@code bin/plaza token <userId>}: prints a bearer token signed with the configured (or dev) secret. */
public final class DevToken {

  private DevToken() {}

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: bin/plaza token <userId>");
      System.exit(2);
    }
    var config = PlazaConfig.load();
    System.out.println(JwtAuth.fromConfig(config).mint(args[0], config.getDuration("plaza.auth.dev-token-ttl")));
  }
}
