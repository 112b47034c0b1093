// Congestion control as the TCB sees it: one `Congestion` member per connection, holding the
// chosen algorithm inline.
//
// The interface is the concept `CongestionControl` below, and each algorithm is one class in
// its own file (newreno.h, cubic.h; STYLE.md habit 8). There is no virtual base class: a TCB
// comes from a fixed-size pool and may not allocate, so the algorithm cannot live behind a
// `std::unique_ptr<Base>`; and with the set of algorithms closed and known at compile time,
// a `std::variant` of them gives inline storage (the size of the larger one), dispatch by
// `std::visit` (a switch on the index, which the compiler can inline, not an indirect call),
// and the same compile-time check of the interface that a pure virtual class would, via the
// concept. Adding an algorithm is: a class satisfying the concept, an enumerator, and an
// alternative in the variant.
//
// Calls, in the TCB's words (FlightSize = SND.NXT - SND.UNA):
//   connection established:             OnHandshakeComplete(syn_retransmissions)
//   ACK of new data, not in recovery:   OnAck(bytes newly acked, now, srtt)
//   loss detected (3rd dup ACK / SACK): OnEnterRecovery(FlightSize, mode), then retransmit
//   in recovery, further dup ACK:       OnDuplicateAck()            (kNewReno only)
//   in recovery, partial ACK:           OnPartialAck(bytes newly acked)
//   in recovery, ACK covers `recover`:  OnExitRecovery(FlightSize after the ACK)
//   retransmission timer expired:       OnRetransmissionTimeout(FlightSize)
//   about to send, nothing in flight:   OnIdleRestart(now - last send, rto)
// and sends while FlightSize < cwnd() (kNewReno) or pipe < cwnd() (kSack, RFC 6675).
#pragma once

#include <concepts>
#include <cstdint>
#include <variant>

#include "base/clock.h"
#include "tcp/congestion_window.h"
#include "tcp/cubic.h"
#include "tcp/newreno.h"

namespace ferry::tcp {

enum class CongestionAlgorithm : uint8_t { kNewReno, kCubic };

// What every algorithm provides. See CongestionWindow, NewReno and Cubic for the rules.
template <typename T>
concept CongestionControl =
    requires(T cc, const T ccc, uint32_t bytes, base::Instant now, base::Duration d,
             FastRecovery mode) {
      cc.OnAck(bytes, now, d);
      cc.OnEnterRecovery(bytes, mode);
      cc.OnDuplicateAck();
      cc.OnPartialAck(bytes);
      cc.OnExitRecovery(bytes);
      cc.OnRetransmissionTimeout(bytes);
      { cc.OnIdleRestart(d, d) } -> std::same_as<bool>;
      cc.OnHandshakeComplete(bytes);
      { ccc.cwnd() } -> std::same_as<uint32_t>;
      { ccc.ssthresh() } -> std::same_as<uint32_t>;
      { ccc.smss() } -> std::same_as<uint32_t>;
      { ccc.in_slow_start() } -> std::same_as<bool>;
      { ccc.in_recovery() } -> std::same_as<bool>;
    };

static_assert(CongestionControl<NewReno>);
static_assert(CongestionControl<Cubic>);

// The per-connection congestion controller: the algorithm chosen when the connection is
// made, stored inline. Each call is forwarded to that algorithm's method of the same name;
// see the table at the top of this file for when the TCB calls which.
class Congestion {
 public:
  // `smss` > 0: the connection's sender MSS (RFC 5681 §2), fixed for its life.
  Congestion(CongestionAlgorithm algorithm, uint32_t smss, const CubicOptions& cubic = {})
      : impl_(Make(algorithm, smss, cubic)) {}

  CongestionAlgorithm algorithm() const {
    return std::holds_alternative<Cubic>(impl_) ? CongestionAlgorithm::kCubic
                                                : CongestionAlgorithm::kNewReno;
  }

  void OnAck(uint32_t bytes_acked, base::Instant now, base::Duration srtt) {
    std::visit([&](auto& cc) { cc.OnAck(bytes_acked, now, srtt); }, impl_);
  }
  void OnEnterRecovery(uint32_t flight_size, FastRecovery mode) {
    std::visit([&](auto& cc) { cc.OnEnterRecovery(flight_size, mode); }, impl_);
  }
  void OnDuplicateAck() { window().OnDuplicateAck(); }
  void OnPartialAck(uint32_t bytes_acked) { window().OnPartialAck(bytes_acked); }
  void OnExitRecovery(uint32_t flight_size) { window().OnExitRecovery(flight_size); }
  void OnRetransmissionTimeout(uint32_t flight_size) {
    std::visit([&](auto& cc) { cc.OnRetransmissionTimeout(flight_size); }, impl_);
  }
  bool OnIdleRestart(base::Duration idle, base::Duration rto) {
    return std::visit([&](auto& cc) { return cc.OnIdleRestart(idle, rto); }, impl_);
  }
  void OnHandshakeComplete(uint32_t syn_retransmissions) {
    window().OnHandshakeComplete(syn_retransmissions);
  }

  uint32_t cwnd() const { return window().cwnd(); }
  uint32_t ssthresh() const { return window().ssthresh(); }
  uint32_t smss() const { return window().smss(); }
  bool in_slow_start() const { return window().in_slow_start(); }
  bool in_recovery() const { return window().in_recovery(); }

  // The algorithm itself, for statistics and tests; null if it is the other one.
  const NewReno* newreno() const { return std::get_if<NewReno>(&impl_); }
  const Cubic* cubic() const { return std::get_if<Cubic>(&impl_); }

 private:
  using Impl = std::variant<NewReno, Cubic>;

  static Impl Make(CongestionAlgorithm algorithm, uint32_t smss, const CubicOptions& cubic) {
    if (algorithm == CongestionAlgorithm::kCubic) {
      return Impl(std::in_place_type<Cubic>, smss, cubic);
    }
    return Impl(std::in_place_type<NewReno>, smss);
  }

  // The rules shared by every algorithm (CongestionWindow is a base of each alternative).
  CongestionWindow& window() {
    return std::visit([](auto& cc) -> CongestionWindow& { return cc; }, impl_);
  }
  const CongestionWindow& window() const {
    return std::visit([](const auto& cc) -> const CongestionWindow& { return cc; }, impl_);
  }

  Impl impl_;
};

}  // namespace ferry::tcp
