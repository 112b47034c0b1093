#include "proxy/maglev.h"

#include <algorithm>
#include <cassert>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace ferry::proxy {
namespace {

// h1 and h2 of the backend id (maglev.h: "The backend's identity"). Arbitrary, and fixed
// forever: the ASCII of "maglev-offset-h1" and "maglev-skip---h2", little-endian.
constexpr base::SipKey kOffsetKey{0x6f2d76656c67616du, 0x31682d7465736666u};
constexpr base::SipKey kSkipKey{0x732d76656c67616du, 0x32682d2d2d70696bu};

constexpr uint16_t kEmptySlot = 0xffff;  // no backend position reaches it (kMaxBackends)

uint64_t HashId(const base::SipKey& key, std::string_view id) {
  return base::SipHash24(
      key, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(id.data()), id.size()));
}

absl::Status Validate(std::span<const MaglevBackend> backends, uint32_t table_size) {
  if (table_size > MaglevTable::kMaxTableSize || !MaglevTable::IsPrime(table_size)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "maglev table_size %u is not a prime in [2, %u]", table_size, MaglevTable::kMaxTableSize));
  }
  const uint32_t max_backends = std::min(table_size, MaglevTable::kMaxBackends);
  if (backends.size() > max_backends) {
    return absl::InvalidArgumentError(
        absl::StrFormat("maglev pool has %u backends, more than the %u a table of size %u holds",
                        backends.size(), max_backends, table_size));
  }
  std::vector<std::string_view> ids;
  ids.reserve(backends.size());
  for (size_t i = 0; i < backends.size(); ++i) {
    const MaglevBackend& b = backends[i];
    if (b.id.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat("maglev backend %u has an empty id", i));
    }
    if (b.weight < kMinBackendWeight || b.weight > kMaxBackendWeight) {
      return absl::InvalidArgumentError(
          absl::StrFormat("maglev backend \"%s\" has weight %u, outside [%u, %u]", b.id,
                          b.weight, kMinBackendWeight, kMaxBackendWeight));
    }
    ids.push_back(b.id);
  }
  std::sort(ids.begin(), ids.end());
  if (auto dup = std::adjacent_find(ids.begin(), ids.end()); dup != ids.end()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("maglev backend id \"%s\" appears more than once", *dup));
  }
  return absl::OkStatus();
}

// One backend's walk along its permutation, and its turn count for the weighting.
struct Walk {
  uint64_t next_slot;  // permutation[next], the next slot it will try
  uint64_t skip;
  uint64_t weight;
  uint64_t turns = 0;
};

}  // namespace

std::vector<uint16_t> MaglevTable::Populate(std::span<const MaglevPermutation> permutations,
                                            uint32_t table_size) {
  const uint64_t m = table_size;
  const auto n = static_cast<uint32_t>(permutations.size());
  assert(n >= 1 && n <= std::min(table_size, kMaxBackends));
  std::vector<Walk> walks;
  walks.reserve(n);
  uint64_t max_weight = 0;
  for (const MaglevPermutation& p : permutations) {
    assert(p.offset < m && p.skip >= 1 && p.skip < m && p.weight >= 1);
    walks.push_back({.next_slot = p.offset, .skip = p.skip, .weight = p.weight});
    max_weight = std::max<uint64_t>(max_weight, p.weight);
  }

  // Pseudocode 1: backends take turns in pool order, each claiming the next still-empty slot
  // of its permutation; a backend skips its turn in round r while it has already had
  // ceil(r * weight / max_weight) turns (maglev.h: "Weights").
  std::vector<uint16_t> slots(table_size, kEmptySlot);
  uint64_t filled = 0;
  for (uint64_t round = 1; filled < m; ++round) {
    for (uint32_t i = 0; i < n && filled < m; ++i) {
      Walk& w = walks[i];
      if (w.turns * max_weight >= round * w.weight) continue;
      ++w.turns;
      while (slots[w.next_slot] != kEmptySlot) {
        w.next_slot += w.skip;
        if (w.next_slot >= m) w.next_slot -= m;
      }
      slots[w.next_slot] = static_cast<uint16_t>(i);
      w.next_slot += w.skip;
      if (w.next_slot >= m) w.next_slot -= m;
      ++filled;
    }
  }
  return slots;
}

bool MaglevTable::IsPrime(uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint32_t d = 3; uint64_t{d} * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

absl::StatusOr<MaglevTable> MaglevTable::Build(std::span<const MaglevBackend> backends,
                                               uint32_t table_size,
                                               const base::SipKey& client_key) {
  if (absl::Status status = Validate(backends, table_size); !status.ok()) return status;
  const auto n = static_cast<uint32_t>(backends.size());
  if (n == 0) return MaglevTable({}, table_size, 0, client_key);

  std::vector<MaglevPermutation> permutations;
  permutations.reserve(n);
  for (const MaglevBackend& b : backends) {
    // §3.4: offset in [0, M - 1], skip in [1, M - 1]; M prime makes every skip a generator.
    permutations.push_back(
        {.offset = static_cast<uint32_t>(HashId(kOffsetKey, b.id) % table_size),
         .skip = static_cast<uint32_t>(HashId(kSkipKey, b.id) % (table_size - 1) + 1),
         .weight = b.weight});
  }
  return MaglevTable(Populate(permutations, table_size), table_size, n, client_key);
}

uint32_t MaglevTable::Slot(net::Ipv4Address client) const {
  if (slots_.empty()) return 0;
  return static_cast<uint32_t>(base::SipHash24Words(client_key_, {client.value}) %
                               table_size_);
}

std::optional<uint32_t> MaglevTable::Lookup(net::Ipv4Address client) const {
  if (slots_.empty()) return std::nullopt;
  return slots_[Slot(client)];
}

std::optional<uint32_t> MaglevTable::Pick(const PickContext& context, PickState&) const {
  if (slots_.empty()) return std::nullopt;
  uint32_t slot = Slot(context.client_address);
  const uint32_t probes = std::min(kMaxProbes, table_size_);
  for (uint32_t k = 0; k < probes; ++k) {
    const uint32_t i = slots_[slot];
    if (IsCandidate(context, i)) return context.backends[i].index;
    slot = slot + 1 == table_size_ ? 0 : slot + 1;
  }
  return std::nullopt;
}

}  // namespace ferry::proxy
