/* zlib, for reading gzip-compressed data files (Fashion-MNIST's IDX files). */
#include <zlib.h>
