// What function mode's main.cpp includes first: the headers the coding platforms give a C++
// submission, then `using namespace std;`, as they do. The image precompiles it (prelude.h.gch
// beside it, with the manifest's flags), with the harness's header: that halves a function-mode
// compile.
#ifndef EXECD_PRELUDE_H
#define EXECD_PRELUDE_H
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <numeric>
#include <queue>
#include <set>
#include <sstream>
#include <stack>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>
#include <new>
#include <typeinfo>
#include <execd/harness.h>
using namespace std;
#endif
