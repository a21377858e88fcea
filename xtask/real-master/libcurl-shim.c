/* libcurl.so.4 for the Mesos 1.11.0 library of `cargo xtask real-master`.
 *
 * The library was linked on Ubuntu 16.04 against a libcurl whose symbols carry
 * the version node CURL_OPENSSL_3; Debian's libcurl.so.4 names its node
 * CURL_OPENSSL_4, so the dynamic loader refuses it. This shim exports the seven
 * functions the library uses under CURL_OPENSSL_3 (libcurl-shim.map) and
 * forwards each call to the system's libcurl, opened by its full path
 * (SYSTEM_LIBCURL, given by the install) the first time one is called: a plain
 * "libcurl.so.4" would name this shim itself.
 *
 * Mesos calls libcurl only to fetch URIs and to ask a URI's content length
 * (stout's net::download and net::contentLength); the master, the agents and
 * `mesos-containerizer launch` do not. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#ifndef SYSTEM_LIBCURL
#error "build with -DSYSTEM_LIBCURL='\"/path/to/libcurl.so.4\"'"
#endif

enum { CURLE_FAILED_INIT = 2 };

static void* system_libcurl;
static pthread_once_t opened = PTHREAD_ONCE_INIT;

static void open_system_libcurl(void)
{
  system_libcurl = dlopen(SYSTEM_LIBCURL, RTLD_NOW | RTLD_LOCAL);
  if (system_libcurl == NULL) {
    fprintf(stderr, "real-master libcurl shim: %s\n", dlerror());
  }
}

/* The system libcurl's function `name`, or NULL when it cannot be had. */
static void* system_function(const char* name)
{
  pthread_once(&opened, open_system_libcurl);
  return system_libcurl == NULL ? NULL : dlsym(system_libcurl, name);
}

int curl_global_init(long flags)
{
  int (*f)(long) = system_function("curl_global_init");
  return f == NULL ? CURLE_FAILED_INIT : f(flags);
}

void* curl_easy_init(void)
{
  void* (*f)(void) = system_function("curl_easy_init");
  return f == NULL ? NULL : f();
}

/* The variadic argument of curl_easy_setopt and curl_easy_getinfo is a single
 * long, curl_off_t, object or function pointer: on x86-64 each travels in one
 * integer register, so passing it on as a void* passes the same bits. */

int curl_easy_setopt(void* handle, int option, ...)
{
  va_list rest;
  va_start(rest, option);
  void* parameter = va_arg(rest, void*);
  va_end(rest);
  int (*f)(void*, int, ...) = system_function("curl_easy_setopt");
  return f == NULL ? CURLE_FAILED_INIT : f(handle, option, parameter);
}

int curl_easy_getinfo(void* handle, int info, ...)
{
  va_list rest;
  va_start(rest, info);
  void* parameter = va_arg(rest, void*);
  va_end(rest);
  int (*f)(void*, int, ...) = system_function("curl_easy_getinfo");
  return f == NULL ? CURLE_FAILED_INIT : f(handle, info, parameter);
}

int curl_easy_perform(void* handle)
{
  int (*f)(void*) = system_function("curl_easy_perform");
  return f == NULL ? CURLE_FAILED_INIT : f(handle);
}

void curl_easy_cleanup(void* handle)
{
  void (*f)(void*) = system_function("curl_easy_cleanup");
  if (f != NULL) {
    f(handle);
  }
}

const char* curl_easy_strerror(int code)
{
  const char* (*f)(int) = system_function("curl_easy_strerror");
  return f == NULL ? "the system libcurl could not be loaded" : f(code);
}
