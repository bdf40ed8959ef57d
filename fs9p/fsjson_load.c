/* fs9p/fsjson_load.c — being written (issue 6). */
