/* fs9p/backend_json.c — being written (issue 6). */
