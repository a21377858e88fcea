// The launcher of `cargo xtask real-master`: runs the code of the official Apache
// Mesos 1.11.0 release from `_scheduler.so`, the Python 2 extension of the PyPI
// artifact mesos.scheduler-1.11.0, into which libmesos, libprocess, stout,
// protobuf and glog are linked statically. Nothing of Mesos is compiled here.
//
// One program, two jobs, chosen by the name it is run under (argv[0]):
//
//   mesos-containerizer launch ...  what the `launch` subcommand of Mesos's
//                                   `mesos-containerizer` does (the agent's posix
//                                   launcher runs it to start every container):
//                                   MesosContainerizerLaunch::execute().
//   any other name (mesos-local)    what Mesos's `mesos-local` does: one master
//                                   and MESOS_NUM_SLAVES agents in this process,
//                                   configured by MESOS_* variables.
//   --check as the only argument    loads the library and finds every symbol
//                                   used below, then exits 0 (the install's test).
//
// The library is found at ../lib/_scheduler.so from the real path of this
// program; its dependencies that Debian lacks (OpenSSL 1.0 and a libcurl with
// the CURL_OPENSSL_3 version node: shims built by the install) are found in the
// same directory through this program's DT_RPATH ($ORIGIN/../lib), which glibc
// also searches for a dlopen()ed library's own dependencies. The Python 2 C-API
// symbols the library references are defined by stubs the install generates
// and links into this program (exported with -rdynamic).
//
// Every Mesos function is looked up by its mangled name and called with the
// ABI of the library, spelled out by hand:
//
//   * it was built by GCC 5.4 with the C++11 std::string ABI (__cxx11), which
//     is also the ABI of this compiler's std::string, so strings are shared;
//   * stout's Option<T> is { enum { SOME = 0, NONE = 1 } state; union { T t; } }
//     and Try<T> is { Option<T> data; Option<Error> error_; } with Error
//     { std::string message; };
//   * a function returning an object that is not trivially copyable (Try, PID,
//     UPID) writes it to memory whose address is passed as a hidden first
//     argument;
//   * the Flags classes derive virtually from flags::FlagsBase: the FlagsBase
//     inside a Flags object is found by the C++ runtime's upcast
//     (__class_type_info::__do_upcast) with the typeinfo objects of the library.

#include <cxxabi.h>
#include <dlfcn.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <new>
#include <string>
#include <typeinfo>
#include <vector>

namespace {

// --- Mangled names of what is used from the library -------------------------

namespace name {

const char* const FLAGS_BASE_TYPEINFO = "_ZTIN5flags9FlagsBaseE";
const char* const FLAGS_BASE_CONSTRUCTOR = "_ZN5flags9FlagsBaseC1Ev";
// Try<Warnings> FlagsBase::load(const Option<std::string>& prefix, int argc,
//     const char* const* argv, bool unknowns, bool duplicates)
const char* const FLAGS_BASE_LOAD =
    "_ZN5flags9FlagsBase4loadERK6OptionINSt7__cxx1112basic_stringIcSt11char_"
    "traitsIcESaIcEEEEiPKPKcbb";

const char* const LOCAL_FLAGS_CONSTRUCTOR = "_ZN5mesos8internal5local5FlagsC1Ev";
const char* const LOCAL_FLAGS_TYPEINFO = "_ZTIN5mesos8internal5local5FlagsE";
// PID<Master> local::launch(const local::Flags&, Allocator*)
const char* const LOCAL_LAUNCH =
    "_ZN5mesos8internal5local6launchERKNS1_5FlagsEPNS_9allocator9AllocatorE";
// void logging::initialize(const std::string& argv0,
//     bool installFailureSignalHandler, const Option<logging::Flags>& flags)
const char* const LOGGING_INITIALIZE =
    "_ZN5mesos8internal7logging10initializeERKNSt7__cxx1112basic_stringIcSt11"
    "char_traitsIcESaIcEEEbRK6OptionINS1_5FlagsEE";
// glog's int FLAGS_minloglevel
const char* const MIN_LOG_LEVEL = "_ZN3fLI17FLAGS_minloglevelE";
// bool process::initialize(const Option<std::string>& delegate,
//     const Option<std::string>& readwriteRealm,
//     const Option<std::string>& readonlyRealm)
const char* const PROCESS_INITIALIZE =
    "_ZN7process10initializeERK6OptionINSt7__cxx1112basic_stringIcSt11char_"
    "traitsIcESaIcEEEES9_S9_";
const char* const VERSION_PROCESS_CONSTRUCTOR =
    "_ZN5mesos8internal14VersionProcessC1Ev";
// PID<VersionProcess> process::spawn(VersionProcess*, bool manage)
const char* const SPAWN_VERSION_PROCESS =
    "_ZN7process5spawnIN5mesos8internal14VersionProcessEEENS_3PIDIT_EEPS5_b";
// bool process::wait(const UPID&, const Duration&)
const char* const PROCESS_WAIT = "_ZN7process4waitERKNS_4UPIDERK8Duration";

const char* const LAUNCH_VTABLE =
    "_ZTVN5mesos8internal5slave24MesosContainerizerLaunchE";
const char* const LAUNCH_NAME =
    "_ZN5mesos8internal5slave24MesosContainerizerLaunch4NAMEB5cxx11E";
const char* const LAUNCH_FLAGS_CONSTRUCTOR =
    "_ZN5mesos8internal5slave24MesosContainerizerLaunch5FlagsC1Ev";
const char* const LAUNCH_FLAGS_TYPEINFO =
    "_ZTIN5mesos8internal5slave24MesosContainerizerLaunch5FlagsE";
const char* const LAUNCH_GET_FLAGS =
    "_ZN5mesos8internal5slave24MesosContainerizerLaunch8getFlagsEv";
const char* const LAUNCH_EXECUTE =
    "_ZN5mesos8internal5slave24MesosContainerizerLaunch7executeEv";

const char* const ALL[] = {
    FLAGS_BASE_TYPEINFO, FLAGS_BASE_CONSTRUCTOR, FLAGS_BASE_LOAD,
    LOCAL_FLAGS_CONSTRUCTOR, LOCAL_FLAGS_TYPEINFO, LOCAL_LAUNCH,
    LOGGING_INITIALIZE, MIN_LOG_LEVEL, PROCESS_INITIALIZE,
    VERSION_PROCESS_CONSTRUCTOR, SPAWN_VERSION_PROCESS, PROCESS_WAIT,
    LAUNCH_VTABLE, LAUNCH_NAME, LAUNCH_FLAGS_CONSTRUCTOR, LAUNCH_FLAGS_TYPEINFO,
    LAUNCH_GET_FLAGS, LAUNCH_EXECUTE,
};

} // namespace name

// --- The library --------------------------------------------------------------

[[noreturn]] void fail(const std::string& message)
{
  fprintf(stderr, "real-master launcher: %s\n", message.c_str());
  exit(1);
}

void* library = nullptr;

void openLibrary()
{
  char self[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length <= 0) {
    fail("cannot read /proc/self/exe");
  }
  std::string path(self, static_cast<size_t>(length));
  path = path.substr(0, path.rfind('/')) + "/../lib/_scheduler.so";

  library = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (library == nullptr) {
    fail(std::string("cannot load the Mesos library: ") + dlerror());
  }
}

void* symbol(const char* mangled)
{
  void* address = dlsym(library, mangled);
  if (address == nullptr) {
    fail(std::string("the Mesos library has no symbol ") + mangled);
  }
  return address;
}

// The library's function `mangled`, typed as F.
template <typename F>
F function(const char* mangled)
{
  return reinterpret_cast<F>(symbol(mangled));
}

// Zeroed, suitably aligned memory for an object of the library whose size this
// program does not know exactly (it is smaller than `bytes`). Never freed: the
// objects live as long as the process.
unsigned char* room(size_t bytes)
{
  void* memory = aligned_alloc(64, bytes);
  if (memory == nullptr) {
    fail("out of memory");
  }
  memset(memory, 0, bytes);
  return static_cast<unsigned char*>(memory);
}

// --- stout types ------------------------------------------------------------------

const int SOME = 0;
const int NONE = 1;

// Option<std::string>.
struct OptionString
{
  int state = NONE;
  union {
    std::string value;
  };

  OptionString() {}
  explicit OptionString(const std::string& text) : state(SOME)
  {
    new (&value) std::string(text);
  }
  ~OptionString()
  {
    if (state == SOME) {
      value.~basic_string();
    }
  }
};

// Try<Warnings> where Warnings is { std::vector<Warning> warnings; } and
// Warning is { std::string message; }.
struct TryWarnings
{
  int dataState;                      // Option<Warnings>: @0
  std::vector<std::string> warnings;  //                   @8
  int errorState;                     // Option<Error>:    @32
  std::string error;                  //                   @40
};
static_assert(offsetof(TryWarnings, warnings) == 8, "Option<Warnings> layout");
static_assert(offsetof(TryWarnings, errorState) == 32, "Option<Error> layout");
static_assert(offsetof(TryWarnings, error) == 40, "Error layout");

// The FlagsBase inside the object `complete` of the class whose typeinfo is
// `typeinfo`.
void* flagsBaseOf(void* complete, const char* typeinfo)
{
  auto* derived = static_cast<const std::type_info*>(symbol(typeinfo));
  auto* base = static_cast<const abi::__class_type_info*>(
      symbol(name::FLAGS_BASE_TYPEINFO));
  void* adjusted = complete;
  if (!derived->__do_upcast(base, &adjusted) || adjusted == nullptr) {
    fail(std::string("no flags::FlagsBase found in ") + typeinfo);
  }
  return adjusted;
}

// flagsBase->load(prefix, argc, argv, unknowns, false). Prints the warnings;
// false (after printing the error) when the flags do not load.
bool loadFlags(
    void* flagsBase,
    const char* prefix,
    int argc,
    const char* const* argv,
    bool allowUnknowns)
{
  using Load = void (*)(
      TryWarnings*, void*, const OptionString*, int, const char* const*, bool,
      bool);
  OptionString thePrefix(prefix);
  // Leaked: it is only read here, and its destructor is the library's business.
  auto* result = reinterpret_cast<TryWarnings*>(room(512));
  function<Load>(name::FLAGS_BASE_LOAD)(
      result, flagsBase, &thePrefix, argc, argv, allowUnknowns, false);

  if (result->dataState != SOME) {
    fprintf(stderr, "Failed to load flags: %s\n", result->error.c_str());
    return false;
  }
  for (const std::string& warning : result->warnings) {
    fprintf(stderr, "real-master launcher: flag warning: %s\n", warning.c_str());
  }
  return true;
}

// --- mesos-local ------------------------------------------------------------------

// src/local/main.cpp of Mesos 1.11.0, step by step.
int runLocal(int argc, char** argv)
{
  // local::Flags (work_dir, num_slaves and the logging flags), loaded from
  // MESOS_* and the command line, unknown flags allowed: they are the master's
  // and the agents', which local::launch loads itself from MESOS_*.
  unsigned char* flags = room(64 * 1024);
  function<void (*)(void*)>(name::LOCAL_FLAGS_CONSTRUCTOR)(flags);
  void* flagsBase = flagsBaseOf(flags, name::LOCAL_FLAGS_TYPEINFO);
  if (!loadFlags(flagsBase, "MESOS_", argc, argv, true)) {
    return 1;
  }

  // glog to stderr: logging::initialize(argv[0], false, None()). The library
  // exports no copy constructor of logging::Flags that would let this program
  // pass the loaded flags, so the one that matters, MESOS_LOGGING_LEVEL, is
  // applied to glog's FLAGS_minloglevel directly.
  if (const char* level = getenv("MESOS_LOGGING_LEVEL")) {
    int* minLogLevel = static_cast<int*>(symbol(name::MIN_LOG_LEVEL));
    *minLogLevel = strcasecmp(level, "ERROR") == 0     ? 2
                   : strcasecmp(level, "WARNING") == 0 ? 1
                                                       : 0;
  }
  unsigned char* noLoggingFlags = room(8 * 1024);  // Option<logging::Flags>
  *reinterpret_cast<int*>(noLoggingFlags) = NONE;
  function<void (*)(const std::string&, bool, const void*)>(
      name::LOGGING_INITIALIZE)(argv[0], false, noLoggingFlags);

  // process::initialize("master"): requests to the process' own address
  // (/api/v1/scheduler, /state, ...) go to the master. LIBPROCESS_IP and
  // LIBPROCESS_PORT are read from the environment.
  {
    OptionString delegate("master");
    OptionString none;
    function<bool (*)(
        const OptionString&, const OptionString&, const OptionString&)>(
        name::PROCESS_INITIALIZE)(delegate, none, none);
  }

  // spawn(new VersionProcess(), true): the /version endpoint.
  unsigned char* version = room(64 * 1024);
  function<void (*)(void*)>(name::VERSION_PROCESS_CONSTRUCTOR)(version);
  unsigned char* versionPid = room(512);
  function<void (*)(void*, void*, bool)>(name::SPAWN_VERSION_PROCESS)(
      versionPid, version, true);

  // process::wait(local::launch(flags, nullptr)): the master and the agents,
  // until the master terminates.
  unsigned char* master = room(512);
  function<void (*)(void*, const void*, void*)>(name::LOCAL_LAUNCH)(
      master, flags, nullptr);
  const int64_t forever = -1000000000;  // Duration { int64_t nanos; }: Seconds(-1)
  function<bool (*)(const void*, const int64_t*)>(name::PROCESS_WAIT)(
      master, &forever);
  return 0;
}

// --- mesos-containerizer launch ------------------------------------------------------

// The layout of MesosContainerizerLaunch in this build, read from its
// destructor and from getFlags() in the library (sizeof is 0x220):
//   Subcommand      vptr @0, std::string name_ @0x8, flags::FlagsBase @0x28
//   Flags flags     @0xe0, whose virtual flags::FlagsBase lies @0x168
// Checked below against getFlags() and the runtime's upcast.
const size_t LAUNCH_SIZE = 0x220;
const size_t LAUNCH_NAME_AT = 0x8;
const size_t LAUNCH_SUBCOMMAND_FLAGS_AT = 0x28;
const size_t LAUNCH_FLAGS_AT = 0xe0;
const size_t LAUNCH_FLAGS_BASE_AT = 0x168;

// src/slave/containerizer/mesos/main.cpp for `launch`: the subcommand object,
// then what Subcommand::dispatch does: load its flags with the prefix
// MESOS_CONTAINERIZER_ from the arguments after the subcommand's name and the
// environment, and execute().
int runContainerizer(int argc, char** argv)
{
  if (argc < 2 || strcmp(argv[1], "launch") != 0) {
    fprintf(stderr,
            "usage: %s launch [--flag=value ...]\n"
            "(only the `launch` subcommand of mesos-containerizer is provided)\n",
            argv[0]);
    return 1;
  }

  unsigned char* launch = room(2 * LAUNCH_SIZE);
  // Subcommand: the vtable pointer points past the offset-to-top and typeinfo
  // slots of the vtable.
  *reinterpret_cast<void**>(launch) =
      static_cast<unsigned char*>(symbol(name::LAUNCH_VTABLE)) + 2 * sizeof(void*);
  new (launch + LAUNCH_NAME_AT)
      std::string(*static_cast<const std::string*>(symbol(name::LAUNCH_NAME)));
  function<void (*)(void*)>(name::FLAGS_BASE_CONSTRUCTOR)(
      launch + LAUNCH_SUBCOMMAND_FLAGS_AT);
  // MesosContainerizerLaunch::flags.
  function<void (*)(void*)>(name::LAUNCH_FLAGS_CONSTRUCTOR)(launch + LAUNCH_FLAGS_AT);

  void* flagsBase =
      function<void* (*)(void*)>(name::LAUNCH_GET_FLAGS)(launch);
  if (flagsBase != launch + LAUNCH_FLAGS_BASE_AT ||
      flagsBaseOf(launch + LAUNCH_FLAGS_AT, name::LAUNCH_FLAGS_TYPEINFO) !=
          flagsBase) {
    fail("MesosContainerizerLaunch is not laid out as this launcher expects");
  }

  if (!loadFlags(flagsBase, "MESOS_CONTAINERIZER_", argc - 1, argv + 1, false)) {
    return 1;
  }
  return function<int (*)(void*)>(name::LAUNCH_EXECUTE)(launch);
}

} // namespace

int main(int argc, char** argv)
{
  openLibrary();

  if (argc == 2 && strcmp(argv[1], "--check") == 0) {
    for (const char* mangled : name::ALL) {
      symbol(mangled);
    }
    printf("real-master launcher: the Mesos library loads\n");
    return 0;
  }

  const char* slash = strrchr(argv[0], '/');
  const char* program = slash != nullptr ? slash + 1 : argv[0];
  if (strcmp(program, "mesos-containerizer") == 0) {
    return runContainerizer(argc, argv);
  }
  return runLocal(argc, argv);
}
