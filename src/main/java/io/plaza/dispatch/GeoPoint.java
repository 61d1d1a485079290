package io.plaza.dispatch;

/** A WGS84 position in degrees. */
public record GeoPoint(double lat, double lng) {

  private static final double EARTH_RADIUS_METERS = 6_371_008.8;

  /** Why {@code lat}/{@code lng} is not a position, or null when it is. */
  public static String invalid(Double lat, Double lng) {
    if (lat == null || lng == null) return "lat and lng are required";
    if (lat.isNaN() || lat < -90 || lat > 90) return "lat must be between -90 and 90";
    if (lng.isNaN() || lng < -180 || lng > 180) return "lng must be between -180 and 180";
    return null;
  }

  /** Great-circle (haversine) distance: good to a few meters at city scale, which is all matching needs. */
  public double metersTo(GeoPoint other) {
    double dLat = Math.toRadians(other.lat - lat);
    double dLng = Math.toRadians(other.lng - lng);
    double a = Math.sin(dLat / 2) * Math.sin(dLat / 2)
        + Math.cos(Math.toRadians(lat)) * Math.cos(Math.toRadians(other.lat)) * Math.sin(dLng / 2) * Math.sin(dLng / 2);
    return 2 * EARTH_RADIUS_METERS * Math.asin(Math.min(1, Math.sqrt(a)));
  }
}
