package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import org.junit.jupiter.api.Test;

class PromQlTest {

  @Test
  void findsTheMetricsAndNotFunctionsLabelsOrNumbers() {
    assertEquals(Set.of("plaza_http_request_seconds_bucket"), PromQl.metricNames(
        "histogram_quantile(0.99, sum by (le, route) (rate(plaza_http_request_seconds_bucket{status=~\"5..\"}[5m])))"));
    assertEquals(Set.of("plaza_http_responses_total"), PromQl.metricNames(
        "sum(rate(plaza_http_responses_total{status=~\"5..\"}[5m])) / sum(rate(plaza_http_responses_total[5m]))"
            + " > 0.01"));
    assertEquals(Set.of("up"), PromQl.metricNames("up{job=\"plaza\"} == 0"));
    assertEquals(Set.of("a_total", "b_total"),
        PromQl.metricNames("rate(a_total[1m]) + on (node) rate(b_total[1m]) > 1e3"));
  }
}
