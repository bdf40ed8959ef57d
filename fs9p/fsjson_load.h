/* fs9p/fsjson_load.h — being written (issue 6). */
