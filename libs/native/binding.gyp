{
  "targets": [
    {
      "target_name": "tstrace_native",
      "sources": ["addon/native.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
