/* fs9p/blob_fetch.h — being written (issue 6). */
