// The balancer of a pool, built from its resolved settings on the control path: the one
// place that maps BalancingPolicy to an implementation (balancer.h), so that ferryd and the
// tests build pools the same way.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "proxy/balancer.h"
#include "proxy/proxy_settings.h"

namespace ferry::proxy {

// The policy `pool.policy` names, over `pool.backends` in pool order (Pick's indices are the
// positions in pool.backends). Maglev's table is built here (allocates
// pool.maglev_table_size slots; the backends' names are its ids, their weights its weights,
// with the default client key), every backend included whether enabled or not: a disabled
// backend is skipped at pick time through BackendView::eligible, so that positions stay
// stable. Returns InvalidArgument, as MaglevTable::Build does, for a Maglev pool whose
// table size is not a prime in [2, kMaxTableSize], whose backends outnumber the slots (or
// kMaxBackends), or whose names repeat or weights are out of range; the other policies
// cannot fail. ValidateProxy (lib/control/proxy_config.h) refuses all of these first.
absl::StatusOr<std::unique_ptr<const Balancer>> MakeBalancer(const PoolSettings& pool);

}  // namespace ferry::proxy
