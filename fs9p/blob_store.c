/* fs9p/blob_store.c — being written (issue 6). */
