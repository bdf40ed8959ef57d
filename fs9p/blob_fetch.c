/* fs9p/blob_fetch.c — being written (issue 6). */
