/* fs9p/backend_json.h — being written (issue 6). */
