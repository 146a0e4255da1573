#ifndef LINEUP_CPREFETCH_H
#define LINEUP_CPREFETCH_H

/* Software prefetch, which Swift does not expose: the graph index asks for the
   codes of a node's unvisited neighbours before scoring them, so their cache
   misses overlap instead of queueing one after another. */
static inline void lineup_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
