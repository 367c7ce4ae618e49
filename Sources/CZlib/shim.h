/* zlib, for reading logrotate's compressed rotations (`synwave report`, `synwave ladder`). Linked
 * as -lz, or from libz.a in the self-contained build (Package.swift). */
#include <zlib.h>
