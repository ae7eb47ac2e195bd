// typeformer/core/linkage.hpp: header-only, or compiled once.
//
// typeformer is header-only: include a header and every function it needs is
// defined there, inline. The backends' ops (and the other large non-template
// functions marked TYPEFORMER_INLINE) are then compiled again in every unit
// that uses them. A program with many units (an exporter with one unit per
// family, a test suite) can compile them once instead:
//
//   - define TYPEFORMER_SEPARATE_COMPILATION for every unit of the program:
//     the headers then only declare those functions;
//   - and compile <typeformer/implementation.hpp> in exactly one unit (as
//     the first include): it defines them.
//
// typeformer_add_families (CMake) does both for the libraries it makes and
// for whatever links them.
#pragma once

#if !defined(TYPEFORMER_SEPARATE_COMPILATION)
#define TYPEFORMER_DEFINITIONS 1
#define TYPEFORMER_INLINE inline
#elif defined(TYPEFORMER_IMPLEMENTATION)
#define TYPEFORMER_DEFINITIONS 1
#define TYPEFORMER_INLINE
#else
#define TYPEFORMER_DEFINITIONS 0
#define TYPEFORMER_INLINE
#endif
