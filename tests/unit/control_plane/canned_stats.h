// Small v1::Stats shared by the exposition tests: one listener, two backends in one pool, a
// few global metrics, with or without per-worker sets.
#pragma once

#include <string>

#include "ferry/v1/service.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace ferry::control {

// Parses `text` as a v1::Stats text proto; a parse error fails the calling test.
inline v1::Stats StatsFromText(const std::string& text) {
  v1::Stats stats;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &stats)) << text;
  return stats;
}

// The global counters and gauges (with uint64's largest value, which a double cannot hold),
// a listener with a session_duration histogram and two backends, one draining, the second
// with a connect_time histogram whose buckets stop short of +Inf.
constexpr char kCannedStats[] = R"pb(
  unix_ms: 1700000000000
  config_version: 7
  global {
    metrics { name: "net.rx_frames" value: 1000 }
    metrics { name: "tcp.segments_in" value: 120 }
    metrics { name: "proxy.sessions_total" value: 5 }
    metrics { name: "proxy.sessions_active" value: 2 gauge: true }
    metrics { name: "loop.busy_cycles" value: 18446744073709551615 }
  }
  listeners {
    name: "web"
    address: "198.18.0.1"
    port: 80
    pool: "web"
    stats {
      metrics { name: "sessions_active" value: 1 gauge: true }
      metrics { name: "sessions_total" value: 5 }
      metrics { name: "bytes_from_client" value: 1234 }
      histograms {
        name: "session_duration"
        count: 5
        sum_seconds: 1.25
        buckets { le_seconds: 0.0001 cumulative_count: 0 }
        buckets { le_seconds: 0.5 cumulative_count: 3 }
        buckets { le_seconds: 60 cumulative_count: 5 }
        buckets { le_seconds: inf cumulative_count: 5 }
        p50_seconds: 0.25
        p99_seconds: 0.9
        max_seconds: 0.9
      }
    }
  }
  backends {
    pool: "web"
    name: "b1"
    address: "198.18.1.10"
    port: 8080
    weight: 100
    state: BACKEND_STATE_ENABLED
    stats {
      metrics { name: "sessions_active" value: 1 gauge: true }
      metrics { name: "sessions_total" value: 3 }
      metrics { name: "connect_refused" value: 1 }
    }
  }
  backends {
    pool: "web"
    name: "b2"
    address: "198.18.1.11"
    port: 8080
    weight: 50
    state: BACKEND_STATE_DRAINING
    stats {
      metrics { name: "sessions_active" value: 0 gauge: true }
      metrics { name: "sessions_total" value: 2 }
      metrics { name: "connect_refused" value: 0 }
      histograms {
        name: "connect_time"
        count: 2
        sum_seconds: 0.0003
        buckets { le_seconds: 1e-05 cumulative_count: 0 }
        buckets { le_seconds: 0.0001 cumulative_count: 1 }
        buckets { le_seconds: 0.001 cumulative_count: 2 }
      }
    }
  }
)pb";

// The same appliance read with per_worker: two workers whose sets add up to the global one,
// and a global gauge ("control.clients") that no worker reports.
constexpr char kCannedWorkerStats[] = R"pb(
  config_version: 7
  global {
    metrics { name: "tcp.segments_in" value: 120 }
    metrics { name: "proxy.sessions_active" value: 2 gauge: true }
    metrics { name: "control.clients" value: 1 gauge: true }
  }
  workers {
    worker: 0
    lcore: 1
    stats {
      metrics { name: "tcp.segments_in" value: 70 }
      metrics { name: "proxy.sessions_active" value: 2 gauge: true }
    }
  }
  workers {
    worker: 1
    lcore: 2
    stats {
      metrics { name: "tcp.segments_in" value: 50 }
      metrics { name: "proxy.sessions_active" value: 0 gauge: true }
    }
  }
)pb";

}  // namespace ferry::control
