package io.plaza.dispatch;

import com.uber.h3core.H3Core;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Uber's H3 cells at one resolution: the index of available drivers is sharded by cell, and matching searches the
 * pickup cell's rings outwards. Resolution 8 (about 0.74 km² per cell, 460 m edge) by default: a ring step widens
 * the search by roughly 900 m.
 */
public final class H3Cells {

  private static final H3Core H3 = load();

  private final int resolution;

  public H3Cells(int resolution) {
    if (resolution < 0 || resolution > 15) throw new IllegalArgumentException("H3 resolution must be 0-15");
    this.resolution = resolution;
  }

  public int resolution() {
    return resolution;
  }

  /** The cell of a position, as H3's hex string (the sharding entity id of that cell's index). */
  public String cellOf(GeoPoint point) {
    return H3.latLngToCellAddress(point.lat(), point.lng(), resolution);
  }

  /** The cells exactly {@code k} steps from {@code cell} (k = 0: the cell itself). */
  public List<String> ring(String cell, int k) {
    if (k == 0) return List.of(cell);
    try {
      return H3.gridRing(cell, k);
    } catch (RuntimeException pentagonOrEdge) {
      // Near one of H3's 12 pentagons a hollow ring is undefined: take the disk's outer cells instead.
      var inner = new java.util.HashSet<>(H3.gridDisk(cell, k - 1));
      return H3.gridDisk(cell, k).stream().filter(c -> !inner.contains(c)).toList();
    }
  }

  /** The corners of {@code cell}, in order around it (for drawing it). */
  public List<GeoPoint> boundary(String cell) {
    return H3.cellToBoundary(cell).stream().map(c -> new GeoPoint(c.lat, c.lng)).toList();
  }

  private static H3Core load() {
    try {
      return H3Core.newInstance();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load the H3 native library", e);
    }
  }
}
