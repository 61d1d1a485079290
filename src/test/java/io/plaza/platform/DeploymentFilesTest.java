package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/**
 * No container engine or Kubernetes runs here, so the deployment files are checked against the application config
 * they deploy: they parse, and the ports, labels, probe paths, overlays and cluster settings agree.
 */
class DeploymentFilesTest {

  private static final YAMLMapper YAML = new YAMLMapper();
  private static final Path IMAGE_HOME = Path.of("/opt/plaza");

  /** The configuration a node started with {@code -Dconfig.file=<overlay>} runs with. */
  private static Config overlay(String file) {
    var path = Path.of("cluster-config", file);
    assertTrue(Files.isRegularFile(path), path + " exists");
    return ConfigFactory.load(ConfigFactory.parseFile(path.toFile()).withFallback(
        ConfigFactory.defaultApplication()));
  }

  private static Map<String, JsonNode> kubernetesByKind() throws IOException {
    var docs = new HashMap<String, JsonNode>();
    try (var parser = YAML.createParser(Path.of("cluster-config/kubernetes/plaza.yaml").toFile())) {
      var it = YAML.readValues(parser, JsonNode.class);
      while (it.hasNext()) {
        var doc = it.next();
        var kind = doc.path("kind").asText();
        assertFalse(kind.isEmpty(), "every document has a kind: " + doc);
        assertEquals(null, docs.put(kind, doc), "one " + kind);
      }
    }
    return docs;
  }

  /** A port reference in a probe (name or number) resolved against the container's declared ports. */
  private static int resolvePort(JsonNode container, JsonNode ref) {
    if (ref.isInt()) return ref.asInt();
    for (var port : container.path("ports")) {
      if (port.path("name").asText().equals(ref.asText())) return port.path("containerPort").asInt();
    }
    throw new AssertionError("probe port '" + ref.asText() + "' is not a declared container port");
  }

  private static String env(JsonNode container, String name) {
    for (var e : container.path("env")) {
      if (e.path("name").asText().equals(name)) return e.path("value").asText(null);
    }
    return null;
  }

  /** The overlay a container selects with -Dconfig.file in JAVA_OPTS, as a file of this repository. */
  private static String selectedOverlay(String javaOpts) {
    assertNotNull(javaOpts, "JAVA_OPTS selects an overlay");
    var m = java.util.regex.Pattern.compile("-Dconfig\\.file=(\\S+)").matcher(javaOpts);
    assertTrue(m.find(), javaOpts);
    var inImage = Path.of(m.group(1));
    var relative = IMAGE_HOME.relativize(inImage);
    assertEquals("cluster-config", relative.getName(0).toString(), "the overlay is one the image carries");
    assertTrue(Files.isRegularFile(relative), relative + " exists in the repository");
    return relative.getFileName().toString();
  }

  @Test
  void theImageCarriesTheOverlaysAndStartsJavaAsTheProcessThatGetsSigterm() throws IOException {
    var dockerfile = Files.readString(Path.of("docker/Dockerfile"));
    assertTrue(dockerfile.contains("WORKDIR " + IMAGE_HOME), "the image's home is " + IMAGE_HOME);
    assertTrue(dockerfile.contains("COPY cluster-config cluster-config"));
    assertTrue(dockerfile.contains("exec java $JAVA_OPTS -jar " + IMAGE_HOME.resolve("plaza.jar")),
        "JAVA_OPTS reaches the JVM and java replaces the shell");
    var base = overlay("kubernetes.conf");
    for (var port : List.of(base.getInt("plaza.http.port"), base.getInt("pekko.management.http.port"),
        base.getInt("pekko.remote.artery.canonical.port"))) {
      assertTrue(dockerfile.matches("(?s).*EXPOSE[^\\n]*\\b" + port + "\\b.*"), "EXPOSE " + port);
    }
  }

  @Test
  void theBuildContextCarriesWhatTheDockerfileCopiesAndNotTheDevData() throws IOException {
    var rules = Files.readAllLines(Path.of(".dockerignore")).stream()
        .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    assertEquals("*", rules.get(0), "everything is left out unless named: " + rules);
    var included = rules.stream().skip(1).peek(r -> assertTrue(r.startsWith("!"), "an allow-list: " + r))
        .map(r -> r.substring(1)).toList();
    var copied = java.util.regex.Pattern.compile("(?m)^COPY (?!--from)(\\S+) ")
        .matcher(Files.readString(Path.of("docker/Dockerfile"))).results().map(m -> m.group(1)).toList();
    assertTrue(copied.containsAll(List.of("pom.xml", "src", "projections", "cluster-config")), copied.toString());
    for (var source : copied) {
      assertTrue(included.stream().anyMatch(i -> i.equals(source) || i.startsWith(source + "/")),
          source + " (copied by the Dockerfile) is in the build context: " + included);
    }
    for (var local : List.of(".plaza", "target", ".git", "src/test")) {
      assertTrue(included.stream().noneMatch(i -> i.equals(local) || local.startsWith(i + "/")),
          local + " stays out of the build context");
    }
  }

  @Test
  void kubernetesManifestsAgreeWithTheKubernetesOverlay() throws IOException {
    var k8s = kubernetesByKind();
    var deployment = k8s.get("Deployment");
    assertNotNull(deployment);
    var pod = deployment.path("spec").path("template");
    var container = pod.path("spec").path("containers").get(0);
    var config = overlay(selectedOverlay(env(container, "JAVA_OPTS")));

    // Ports: the container declares what the node listens on.
    var declared = new HashMap<String, Integer>();
    container.path("ports").forEach(p -> declared.put(p.path("name").asText(), p.path("containerPort").asInt()));
    assertEquals(Map.of("http", config.getInt("plaza.http.port"),
        "management", config.getInt("pekko.management.http.port"),
        "remoting", config.getInt("pekko.remote.artery.canonical.port")), declared);
    assertEquals("0.0.0.0", config.getString("pekko.management.http.bind-hostname"),
        "the kubelet probes the pod IP");

    // Probes: on the management port, at the paths Pekko Management serves.
    var readiness = container.path("readinessProbe").path("httpGet");
    var liveness = container.path("livenessProbe").path("httpGet");
    assertEquals("/" + config.getString("pekko.management.health-checks.readiness-path"),
        readiness.path("path").asText());
    assertEquals("/" + config.getString("pekko.management.health-checks.liveness-path"),
        liveness.path("path").asText());
    assertEquals(config.getInt("pekko.management.http.port"), resolvePort(container, readiness.path("port")));
    assertEquals(config.getInt("pekko.management.http.port"), resolvePort(container, liveness.path("port")));
    // Metrics: the scrape annotations point at the management port, where the metrics route is registered.
    var scrape = pod.path("metadata").path("annotations");
    assertEquals("true", scrape.path("prometheus.io/scrape").asText());
    assertEquals(config.getInt("pekko.management.http.port"), scrape.path("prometheus.io/port").asInt());
    assertEquals("/metrics", scrape.path("prometheus.io/path").asText());
    assertEquals(MetricsRoutes.class.getName(), config.getString("pekko.management.http.routes.plaza-metrics"));
    var readinessChecks = config.getConfig("pekko.management.health-checks.readiness-checks").root().keySet();
    assertTrue(readinessChecks.containsAll(Set.of("cluster-membership", "cassandra", "sharding")), readinessChecks
        .toString());

    // Labels: one label set selects the pods everywhere, and discovery finds them by it.
    var podLabels = pod.path("metadata").path("labels");
    assertEquals(podLabels, deployment.path("spec").path("selector").path("matchLabels"));
    assertEquals(podLabels, k8s.get("Service").path("spec").path("selector"));
    assertEquals(podLabels, k8s.get("PodDisruptionBudget").path("spec").path("selector").path("matchLabels"));
    var serviceName = env(container, "PLAZA_SERVICE_NAME");
    var selector = String.format(config.getString("pekko.discovery.kubernetes-api.pod-label-selector"), serviceName);
    var labelSelector = selector.split("=", 2);
    assertEquals(labelSelector[1], podLabels.path(labelSelector[0]).asText(), "discovery selects " + selector);
    assertEquals("kubernetes-api", config.getString(
        "pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method"));
    assertTrue(config.getBoolean("plaza.cluster.bootstrap"));
    assertFalse(config.getBoolean("plaza.cluster.join-self"), "a pod never forms a cluster of its own");
    assertFalse(config.getBoolean("plaza.dev-mode"), "no dev tokens in production");
    assertFalse(config.getBoolean("plaza.cassandra.create-schema"), "the schema is applied once, not per pod");

    // Rolling update: never fewer pods than wanted; voluntary disruptions keep a majority for the resolver.
    int replicas = deployment.path("spec").path("replicas").asInt();
    var rolling = deployment.path("spec").path("strategy");
    assertEquals("RollingUpdate", rolling.path("type").asText());
    assertEquals(0, rolling.path("rollingUpdate").path("maxUnavailable").asInt());
    int disruptable = k8s.get("PodDisruptionBudget").path("spec").path("maxUnavailable").asInt();
    assertTrue(replicas - disruptable > replicas / 2, "a drain keeps a majority");
    int contactPoints = config.getInt(
        "pekko.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr");
    assertTrue(contactPoints > replicas / 2 && contactPoints <= replicas,
        "bootstrap waits for a majority of the replicas, never for more than exist");
    assertEquals("keep-majority", config.getString("pekko.cluster.split-brain-resolver.active-strategy"));
    // The grace period covers coordinated shutdown's HTTP drain plus leaving the cluster.
    var grace = pod.path("spec").path("terminationGracePeriodSeconds").asLong();
    assertTrue(grace >= config.getDuration("plaza.http.shutdown-deadline").toSeconds() + 20, "grace " + grace);

    // RBAC: the pods' service account may list pods (Cluster Bootstrap's discovery).
    var account = pod.path("spec").path("serviceAccountName").asText();
    assertEquals(account, k8s.get("ServiceAccount").path("metadata").path("name").asText());
    var binding = k8s.get("RoleBinding");
    assertEquals(account, binding.path("subjects").get(0).path("name").asText());
    assertEquals(k8s.get("Role").path("metadata").path("name").asText(),
        binding.path("roleRef").path("name").asText());
    var rule = k8s.get("Role").path("rules").get(0);
    assertEquals("pods", rule.path("resources").get(0).asText());
    var verbs = new HashSet<String>();
    rule.path("verbs").forEach(v -> verbs.add(v.asText()));
    assertTrue(verbs.containsAll(Set.of("get", "list", "watch")), verbs.toString());
  }

  @Test
  void composeNodesSeedEachOtherByServiceName() throws IOException {
    // SnakeYAML (under Jackson's YAML module) resolves the anchors and merge keys (<<: *plaza) that Jackson's
    // tree model keeps as plain strings.
    var compose = Json.MAPPER.valueToTree(new org.yaml.snakeyaml.Yaml().load(
        Files.readString(Path.of("docker/docker-compose.yml"))));
    var services = ((JsonNode) compose).path("services");
    var nodes = new ArrayList<String>();
    services.fieldNames().forEachRemaining(name -> {
      if (name.startsWith("plaza")) nodes.add(name);
    });
    assertEquals(3, nodes.size(), nodes.toString());
    for (var name : nodes) {
      var service = services.path(name);
      var config = overlay(selectedOverlay(service.path("environment").path("JAVA_OPTS").asText(null)));
      assertEquals(name, service.path("environment").path("PLAZA_REMOTE_HOST").asText(), "remoting advertises " + name);
      var httpPort = config.getInt("plaza.http.port");
      var published = StreamSupport.stream(service.path("ports").spliterator(), false)
          .map(p -> Integer.parseInt(p.asText().split(":")[1])).toList();
      assertTrue(published.contains(httpPort), name + " publishes the API port " + httpPort + ": " + published);
      for (var seed : config.getStringList("pekko.cluster.seed-nodes")) {
        var m = java.util.regex.Pattern.compile("pekko://Plaza@([^:]+):(\\d+)").matcher(seed);
        assertTrue(m.matches(), seed);
        assertTrue(nodes.contains(m.group(1)), seed + " names a compose service");
        assertEquals(config.getInt("pekko.remote.artery.canonical.port"), Integer.parseInt(m.group(2)), seed);
      }
    }
  }

  @Test
  void theThreeLocalNodesHaveTheirOwnPortsAndSeedEachOther() {
    var remoting = new HashSet<Integer>();
    var all = new HashSet<Integer>();
    var configs = new ArrayList<Config>();
    for (int n = 1; n <= 3; n++) {
      var config = overlay("local" + n + ".conf");
      configs.add(config);
      var ports = List.of(config.getInt("plaza.http.port"), config.getInt("pekko.management.http.port"),
          config.getInt("pekko.remote.artery.canonical.port"));
      for (var port : ports) {
        assertTrue(port > 0 && port < 65536, "local" + n + ".conf: " + port + " is a TCP port");
        assertTrue(all.add(port), "port " + port + " is used by one node only");
      }
      remoting.add(config.getInt("pekko.remote.artery.canonical.port"));
      assertFalse(config.getBoolean("plaza.cluster.join-self"));
    }
    for (var config : configs) {
      var seeds = config.getStringList("pekko.cluster.seed-nodes");
      assertEquals(configs.get(0).getStringList("pekko.cluster.seed-nodes"), seeds, "all nodes agree on the seeds");
      for (var seed : seeds) {
        assertTrue(remoting.contains(Integer.parseInt(seed.substring(seed.lastIndexOf(':') + 1))), seed);
      }
    }
  }

  /**
   * Every manifest read into the Kubernetes API model (fabric8): a wrong type fails to read, and a field the API does
   * not have lands in some object's additionalProperties — both fail here, as kubeconform would.
   */
  @Test
  void everyKubernetesObjectIsValidForTheKubernetesApi() throws IOException {
    var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
    int objects = 0;
    try (var parser = YAML.createParser(Path.of("cluster-config/kubernetes/plaza.yaml").toFile())) {
      var it = YAML.readValues(parser, JsonNode.class);
      while (it.hasNext()) {
        var doc = it.next();
        var type = API_TYPES.get(doc.path("kind").asText());
        assertNotNull(type, "a kind this test knows: " + doc.path("kind"));
        var resource = mapper.treeToValue(doc, type);
        assertEquals(newInstance(type).getApiVersion(), doc.path("apiVersion").asText(),
            doc.path("kind") + "'s current API version");
        var unknown = new java.util.ArrayList<String>();
        unknownFields(resource, doc.path("kind").asText(), unknown, java.util.Collections.newSetFromMap(
            new java.util.IdentityHashMap<>()));
        assertEquals(List.of(), unknown, "fields the Kubernetes API does not have");
        objects++;
      }
    }
    assertEquals(7, objects, "Deployment, Service, PodDisruptionBudget, ServiceAccount, Role, RoleBinding, Job");
  }

  private static final Map<String, Class<? extends io.fabric8.kubernetes.api.model.HasMetadata>> API_TYPES = Map.of(
      "Deployment", io.fabric8.kubernetes.api.model.apps.Deployment.class,
      "Service", io.fabric8.kubernetes.api.model.Service.class,
      "PodDisruptionBudget", io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget.class,
      "ServiceAccount", io.fabric8.kubernetes.api.model.ServiceAccount.class,
      "Role", io.fabric8.kubernetes.api.model.rbac.Role.class,
      "RoleBinding", io.fabric8.kubernetes.api.model.rbac.RoleBinding.class,
      "Job", io.fabric8.kubernetes.api.model.batch.v1.Job.class);

  private static io.fabric8.kubernetes.api.model.HasMetadata newInstance(
      Class<? extends io.fabric8.kubernetes.api.model.HasMetadata> type) {
    try {
      return type.getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  private static void unknownFields(Object value, String path, List<String> found, java.util.Set<Object> seen) {
    if (value == null || !seen.add(value)) return;
    if (value instanceof java.util.Collection<?> items) {
      int i = 0;
      for (var item : items) unknownFields(item, path + "[" + i++ + "]", found, seen);
      return;
    }
    if (value instanceof Map<?, ?> map) {
      map.forEach((k, v) -> unknownFields(v, path + "." + k, found, seen));
      return;
    }
    if (!value.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) return;
    for (var method : value.getClass().getMethods()) {
      if (method.getParameterCount() != 0 || !method.getName().startsWith("get")
          || method.getDeclaringClass() == Object.class) {
        continue;
      }
      try {
        var result = method.invoke(value);
        if (method.getName().equals("getAdditionalProperties")) {
          ((Map<?, ?>) result).keySet().forEach(k -> found.add(path + "." + k));
        } else {
          unknownFields(result, path + "." + method.getName().substring(3), found, seen);
        }
      } catch (ReflectiveOperationException e) {
        throw new AssertionError(e);
      }
    }
  }

  /** Deployable as written: hardened pods, memory the JVM fits in, spread, the build's image, the schema Job. */
  @Test
  void thePodsAreHardenedSizedForTheJvmAndRunTheBuildsImage() throws IOException {
    var version = System.getProperty("plaza.project.version");
    var k8s = kubernetesByKind();
    var dockerfile = Files.readString(Path.of("docker/Dockerfile"));
    var ram = java.util.regex.Pattern.compile("MaxRAMPercentage=(\\d+)").matcher(dockerfile);
    assertTrue(ram.find(), "the image sets -XX:MaxRAMPercentage");
    int heapPercent = Integer.parseInt(ram.group(1));
    for (var kind : List.of("Deployment", "Job")) {
      var pod = k8s.get(kind).path("spec").path("template").path("spec");
      assertTrue(pod.path("securityContext").path("runAsNonRoot").asBoolean(), kind + " runs as non-root");
      assertEquals("RuntimeDefault", pod.path("securityContext").path("seccompProfile").path("type").asText());
      for (var container : pod.path("containers")) {
        var security = container.path("securityContext");
        assertTrue(security.path("readOnlyRootFilesystem").asBoolean(), kind + ": read-only root filesystem");
        assertFalse(security.path("allowPrivilegeEscalation").asBoolean(true), kind + ": no privilege escalation");
        assertEquals("ALL", security.path("capabilities").path("drop").path(0).asText(), kind + ": no capabilities");
        assertEquals("plaza:" + version, container.path("image").asText(), kind + ": the build's image");
        var tmp = java.util.stream.StreamSupport.stream(container.path("volumeMounts").spliterator(), false)
            .anyMatch(m -> m.path("mountPath").asText().equals("/tmp"));
        assertTrue(tmp, kind + ": a writable /tmp for the JVM");
        var resources = container.path("resources");
        var limit = io.fabric8.kubernetes.api.model.Quantity.getAmountInBytes(
            new io.fabric8.kubernetes.api.model.Quantity(resources.path("limits").path("memory").asText()));
        assertEquals(resources.path("limits").path("memory"), resources.path("requests").path("memory"),
            kind + ": memory request = limit");
        // What the heap leaves of the limit: metaspace, threads, direct buffers, code cache need about 400 MiB.
        var offHeap = limit.multiply(java.math.BigDecimal.valueOf(100 - heapPercent))
            .divide(java.math.BigDecimal.valueOf(100));
        assertTrue(offHeap.compareTo(java.math.BigDecimal.valueOf(150L << 20)) >= 0,
            kind + ": " + offHeap + " bytes beside the heap");
      }
    }
    var deployment = k8s.get("Deployment").path("spec").path("template").path("spec");
    assertEquals("kubernetes.io/hostname",
        deployment.path("topologySpreadConstraints").path(0).path("topologyKey").asText(), "spread across machines");
    var jobCommand = k8s.get("Job").path("spec").path("template").path("spec").path("containers").path(0)
        .path("command");
    assertEquals(CassandraSchema.class.getName(), jobCommand.path(3).asText(), "the Job runs the schema tool");
    assertEquals("--apply", jobCommand.path(4).asText());
  }

  @Test
  void theClusterAppVersionIsTheBuildVersion() {
    var config = overlay("kubernetes.conf");
    var version = System.getProperty("plaza.project.version");
    assertNotNull(version, "surefire passes the project version");
    assertEquals(version, config.getString("pekko.cluster.app-version"));
  }
}
