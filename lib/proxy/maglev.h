// Maglev consistent hashing on the client address: D. E. Eisenbud et al., "Maglev: A Fast
// and Reliable Software Network Load Balancer" (NSDI 2016), §3.4.
//
// The table. M slots, M prime (default 65537). Each backend has a preference list, a
// permutation of the slots:
//   offset = h1(id) mod M,  skip = h2(id) mod (M - 1) + 1,
//   permutation[j] = (offset + j * skip) mod M,  j = 0 .. M - 1,
// which visits every slot once because skip is in [1, M - 1] and M is prime. Backends then
// take turns in rounds, in pool order; on its turn a backend claims the next slot of its own
// permutation that is still empty (the paper's Pseudocode 1), until every slot is filled.
// So every backend owns M / N slots give or take one, and a slot's owner depends on the
// other backends only through which slots they claimed first: when a backend leaves, its
// slots go to other backends, and only a few other slots change hands (not none: Maglev
// trades a little disruption for even shares; maglev_test.cc prints ferry's figures).
//
// The backend's identity. h1 and h2 are SipHash-2-4 (base/siphash.h) of the backend's id
// string (its name, or "address:port") under two fixed keys. Fixed, not random, so that the
// same pool gives the same table in every process, after every restart, and on every ferry
// instance behind the same ECMP route, which is what lets a client keep its backend across
// all three. The keys must never change: changing them remaps every client on upgrade.
//
// Weights. Pseudocode 1 gives every backend one turn per round; weights are added the way
// Envoy's Maglev load balancer adds them, by skipping turns. A backend of weight w takes a
// turn in round r only while its turns so far are below ceil(r * w / w_max), w_max the
// largest weight: a backend of the largest weight takes a turn every round, one of half that
// weight every other round. Each turn claims exactly one slot, so the slots owned are in
// proportion to the weights, to within a slot per backend. With equal weights it is the
// paper's algorithm exactly.
//
// Lookup. slot = SipHash-2-4(client address) mod M under `client_key`, and the slot's owner
// is the pick. Only the address is hashed, not the port, so that all of a client's
// connections go to one backend. The mapping is a pure function of (backends, M, client
// key): it holds for every lookup, on every worker (a client's connections are spread over
// workers by RSS, so all workers must share the key, which is why it lives in the table),
// and across rebuilds as long as the key is the same. The control thread therefore passes
// the same key to every Build in a process. The default is a fixed built-in key, so the
// mapping also survives restarts and agrees across instances. A per-process random key
// instead makes the mapping unpredictable from outside (no crafting addresses that all land
// on one backend), at the price that a restart remaps nearly every client, as losing a
// connection-tracking table would; established sessions are unaffected either way, since a
// session keeps the backend it was given.
//
// Ineligible and excluded backends. Health changes are meant to be handled by rebuilding the
// table without the backend (control path: that is where the minimal disruption above comes
// from). Until then, and for a backend at its connection limit or a retry's exclusions, the
// lookup probes the following slots, slot + 1, slot + 2, ..., up to kMaxProbes of them, and
// takes the first candidate. Slot owners are in effect shuffled, so this spreads a missing
// backend's clients over the others in proportion to their shares, and deterministically
// (a client keeps its fallback). After kMaxProbes slots without a candidate it returns
// nullopt even if some backend is eligible: when a fraction f of the table belongs to
// candidates, that happens with probability about (1 - f)^128 (1e-6 with one backend in ten
// left; 2^-128 with half).
//
// Choosing M. Shares are even to within one slot per backend whatever M, but the smaller
// M / N, the larger one slot is as a fraction of a share, and the more other slots move on
// a change. Keep M >= 100 * N (65537 serves pools of up to 655 backends; for larger pools use
// a larger prime such as 655373). Build accepts smaller M but does not recommend it.
//
// Memory: 2 bytes per slot (128 KiB at 65537), immutable after Build, shared by all workers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/siphash.h"
#include "net/address.h"
#include "proxy/balancer.h"

namespace ferry::proxy {

// One backend as Maglev's table knows it; Build's backends[i] is the pool's backend i.
struct MaglevBackend {
  std::string id;       // stable and unique in the pool: the name, or "address:port"
  uint32_t weight = 1;  // kMinBackendWeight..kMaxBackendWeight
};

// A backend's permutation, (offset + j * skip) mod M, and its weight: what the population
// step needs once the id has been hashed.
struct MaglevPermutation {
  uint32_t offset = 0;  // < M
  uint32_t skip = 1;    // 1..M-1
  uint32_t weight = 1;  // >= 1
};

class MaglevTable final : public Balancer {
 public:
  static constexpr uint32_t kDefaultTableSize = 65537;
  static constexpr uint32_t kMaxTableSize = 1u << 24;  // 32 MiB of slots
  static constexpr uint32_t kMaxBackends = 65535;      // a slot holds a uint16_t position
  static constexpr uint32_t kMaxProbes = 128;
  // The default client key (see the top of this file): arbitrary and fixed, the ASCII of
  // "maglev-client-k1" read little-endian.
  static constexpr base::SipKey kDefaultClientKey{0x632d76656c67616du, 0x316b2d746e65696cu};

  // Builds the table for `backends` (control path: allocates M slots; O(M log M) probing
  // plus O(N) per round for about M * w_max / sum(w) rounds). Returns InvalidArgument naming
  // the value at fault when table_size is not a prime in [2, kMaxTableSize], when there are
  // more backends than min(table_size, kMaxBackends), or when a backend's id is empty or
  // repeated or its weight is outside [kMinBackendWeight, kMaxBackendWeight]. An empty pool
  // gives an empty table, whose every Pick returns nullopt.
  // Whether n is prime (a valid table size if also <= kMaxTableSize). Trial division.
  static bool IsPrime(uint32_t n);

  static absl::StatusOr<MaglevTable> Build(
      std::span<const MaglevBackend> backends, uint32_t table_size = kDefaultTableSize,
      const base::SipKey& client_key = kDefaultClientKey);

  // The population step alone (Pseudocode 1 with weights): slot -> position in
  // `permutations`. Build hashes the ids and calls it; exposed so that it can be checked
  // against the paper's worked example. Requires what Build validates: table_size prime,
  // 1 <= permutations.size() <= min(table_size, kMaxBackends), each offset < table_size,
  // skip in [1, table_size - 1], weight >= 1 (asserted).
  static std::vector<uint16_t> Populate(std::span<const MaglevPermutation> permutations,
                                        uint32_t table_size);

  // See Balancer::Pick and "Ineligible and excluded backends" above. Reads only the client
  // address, context.backends and context.excluded; `state` is not used.
  std::optional<uint32_t> Pick(const PickContext& context, PickState& state) const override;
  BalancingPolicy policy() const override { return BalancingPolicy::kMaglev; }

  // The slot `client` hashes to; 0 for an empty table.
  uint32_t Slot(net::Ipv4Address client) const;
  // The owner of `client`'s slot, eligible or not (for ferryctl and tests); nullopt for an
  // empty table.
  std::optional<uint32_t> Lookup(net::Ipv4Address client) const;

  uint32_t table_size() const { return table_size_; }
  uint32_t backend_count() const { return backend_count_; }
  // Slot -> backend position; empty for an empty pool.
  std::span<const uint16_t> slots() const { return slots_; }

 private:
  MaglevTable(std::vector<uint16_t> slots, uint32_t table_size, uint32_t backend_count,
              const base::SipKey& client_key)
      : slots_(std::move(slots)),
        table_size_(table_size),
        backend_count_(backend_count),
        client_key_(client_key) {}

  std::vector<uint16_t> slots_;
  uint32_t table_size_;
  uint32_t backend_count_;
  base::SipKey client_key_;
};

}  // namespace ferry::proxy
