package io.plaza.timeline;

import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import io.plaza.platform.Cassandra;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/** `follows` on Cassandra: one partition per user for followers and for following, paged by user id. */
public final class CassandraFollowsRepository implements FollowsRepository {

  private final CassandraSession session;
  private final CompletionStage<PreparedStatement> addFollower;
  private final CompletionStage<PreparedStatement> removeFollower;
  private final CompletionStage<PreparedStatement> addFollowing;
  private final CompletionStage<PreparedStatement> removeFollowing;
  private final CompletionStage<PreparedStatement> followerCount;
  private final CompletionStage<PreparedStatement> lastPost;
  private final CompletionStage<PreparedStatement> lastActive;
  private final CompletionStage<PreparedStatement> returnedAt;
  private final CompletionStage<PreparedStatement> addCelebrity;
  private final CompletionStage<PreparedStatement> removeCelebrity;
  private final CompletionStage<PreparedStatement> selectFollowers;
  private final CompletionStage<PreparedStatement> selectFollowing;
  private final CompletionStage<PreparedStatement> selectActivity;
  private final CompletionStage<PreparedStatement> selectCelebrities;
  private final CompletionStage<PreparedStatement> setMuted;
  private final CompletionStage<PreparedStatement> setBlocked;
  private final CompletionStage<PreparedStatement> selectFollowingAmong;
  private final CompletionStage<PreparedStatement> selectHidden;

  public CassandraFollowsRepository(CassandraSession session, String keyspace) {
    this.session = session;
    var k = keyspace + ".";
    addFollower = session.prepare("UPDATE " + k + "followers USING TIMESTAMP ? SET since = ? "
        + "WHERE user_id = ? AND follower_id = ?");
    removeFollower = session.prepare("DELETE FROM " + k + "followers USING TIMESTAMP ? "
        + "WHERE user_id = ? AND follower_id = ?");
    addFollowing = session.prepare("UPDATE " + k + "following USING TIMESTAMP ? SET since = ? "
        + "WHERE user_id = ? AND followee_id = ?");
    removeFollowing = session.prepare("DELETE FROM " + k + "following USING TIMESTAMP ? "
        + "WHERE user_id = ? AND followee_id = ?");
    followerCount = session.prepare("UPDATE " + k + "timeline_users USING TIMESTAMP ? SET followers = ? "
        + "WHERE user_id = ?");
    lastPost = session.prepare("UPDATE " + k + "timeline_users USING TIMESTAMP ? SET last_post = ? WHERE user_id = ?");
    lastActive = session.prepare("UPDATE " + k + "timeline_users USING TIMESTAMP ? SET last_active = ? "
        + "WHERE user_id = ?");
    returnedAt = session.prepare("UPDATE " + k + "timeline_users SET returned_at = ? WHERE user_id = ?");
    addCelebrity = session.prepare("INSERT INTO " + k + "timeline_celebrities (shard, user_id) VALUES (0, ?) "
        + "USING TIMESTAMP ?");
    removeCelebrity = session.prepare("DELETE FROM " + k + "timeline_celebrities USING TIMESTAMP ? "
        + "WHERE shard = 0 AND user_id = ?");
    selectFollowers = session.prepare("SELECT follower_id FROM " + k + "followers WHERE user_id = ? "
        + "AND follower_id > ? LIMIT ?");
    selectFollowing = session.prepare("SELECT followee_id FROM " + k + "following WHERE user_id = ? "
        + "AND followee_id > ? LIMIT ?");
    selectActivity = session.prepare("SELECT user_id, last_active, returned_at, last_post FROM " + k
        + "timeline_users WHERE user_id IN ?");
    selectCelebrities = session.prepare("SELECT user_id FROM " + k + "timeline_celebrities WHERE shard = 0");
    setMuted = session.prepare("UPDATE " + k + "timeline_hidden USING TIMESTAMP ? SET muted = ? "
        + "WHERE user_id = ? AND author_id = ?");
    setBlocked = session.prepare("UPDATE " + k + "timeline_hidden USING TIMESTAMP ? SET blocked = ? "
        + "WHERE user_id = ? AND author_id = ?");
    selectFollowingAmong = session.prepare("SELECT followee_id FROM " + k + "following WHERE user_id = ? "
        + "AND followee_id IN ?");
    selectHidden = session.prepare("SELECT author_id, muted, blocked FROM " + k + "timeline_hidden "
        + "WHERE user_id = ?");
  }

  @Override
  public CompletionStage<Done> apply(List<Write> writes) {
    return Cassandra.writeAll(writes, this::execute);
  }

  private CompletionStage<Done> execute(Write w) {
    long v = w.version();
    if (w instanceof FollowerAdded a) return write(addFollower, v, a.since(), a.user(), a.follower());
    if (w instanceof FollowerRemoved r) return write(removeFollower, v, r.user(), r.follower());
    if (w instanceof FollowingAdded a) return write(addFollowing, v, a.since(), a.user(), a.followee());
    if (w instanceof FollowingRemoved r) return write(removeFollowing, v, r.user(), r.followee());
    if (w instanceof FollowerCount c) return write(followerCount, v, c.followers(), c.user());
    if (w instanceof LastPost p) return write(lastPost, v, p.number(), p.user());
    if (w instanceof LastActive a) return write(lastActive, v, a.at(), a.user());
    if (w instanceof Muted m) return write(setMuted, v, m.muted(), m.user(), m.author());
    if (w instanceof Blocked b) return write(setBlocked, v, b.blocked(), b.user(), b.author());
    var c = (Celebrity) w;
    return c.celebrity() ? write(addCelebrity, c.user(), v) : write(removeCelebrity, v, c.user());
  }

  private CompletionStage<Done> write(CompletionStage<PreparedStatement> statement, Object... values) {
    return statement.thenCompose(ps -> session.executeWrite(ps.bind(values)));
  }

  @Override
  public CompletionStage<Page> followers(String user, String after, int limit) {
    return page(selectFollowers, "follower_id", user, after, limit);
  }

  @Override
  public CompletionStage<Page> following(String user, String after, int limit) {
    return page(selectFollowing, "followee_id", user, after, limit);
  }

  private CompletionStage<Page> page(CompletionStage<PreparedStatement> statement, String column, String user,
      String after, int limit) {
    return statement.thenCompose(ps -> session.selectAll(ps.bind(user, after == null ? "" : after, limit)))
        .thenApply(rows -> {
          var ids = rows.stream().map(row -> row.getString(column)).toList();
          return new Page(ids, ids.size() == limit ? ids.get(ids.size() - 1) : null);
        });
  }

  @Override
  public CompletionStage<Map<String, Instant>> lastActive(Collection<String> users) {
    if (users.isEmpty()) return java.util.concurrent.CompletableFuture.completedFuture(Map.of());
    return selectActivity.thenCompose(ps -> session.selectAll(ps.bind(List.copyOf(users)))).thenApply(rows -> {
      var active = new HashMap<String, Instant>();
      rows.forEach(row -> {
        var projected = row.getInstant("last_active");
        var returned = row.getInstant("returned_at");
        var latest = projected == null ? returned
            : returned == null || projected.isAfter(returned) ? projected : returned;
        if (latest != null) active.put(row.getString("user_id"), latest);
      });
      return active;
    });
  }

  @Override
  public CompletionStage<Done> markReturned(String user, Instant at) {
    return write(returnedAt, at, user);
  }

  @Override
  public CompletionStage<Map<String, Long>> lastPosts(Collection<String> users) {
    if (users.isEmpty()) return java.util.concurrent.CompletableFuture.completedFuture(Map.of());
    return selectActivity.thenCompose(ps -> session.selectAll(ps.bind(List.copyOf(users)))).thenApply(rows -> {
      var last = new HashMap<String, Long>();
      rows.forEach(row -> {
        if (!row.isNull("last_post")) last.put(row.getString("user_id"), row.getLong("last_post"));
      });
      return last;
    });
  }

  @Override
  public CompletionStage<Set<String>> celebrities() {
    return selectCelebrities.thenCompose(ps -> session.selectAll(ps.bind()))
        .thenApply(rows -> rows.stream().map(row -> row.getString("user_id")).collect(Collectors.toSet()));
  }

  @Override
  public CompletionStage<Set<String>> followingAmong(String user, Collection<String> candidates) {
    if (candidates.isEmpty()) return java.util.concurrent.CompletableFuture.completedFuture(Set.of());
    return selectFollowingAmong.thenCompose(ps -> session.selectAll(ps.bind(user, List.copyOf(candidates))))
        .thenApply(rows -> rows.stream().map(row -> row.getString("followee_id")).collect(Collectors.toSet()));
  }

  @Override
  public CompletionStage<Set<String>> hidden(String user) {
    return selectHidden.thenCompose(ps -> session.selectAll(ps.bind(user))).thenApply(rows -> rows.stream()
        .filter(row -> row.getBoolean("muted") || row.getBoolean("blocked"))
        .map(row -> row.getString("author_id")).collect(Collectors.toSet()));
  }
}
