/* SPDX-License-Identifier: MIT */
/*
 * The NVIDIA libraries, loaded at run time through the ffnvcodec loader
 * (libcuda.so.1 and libnvidia-encode.so.1 come with the driver, not with
 * Glassbox), and one CUDA context with an NVENC session on it. Every
 * failure comes back as a negative errno and one line saying what failed,
 * with the library's, CUDA's or NVENC's own name for the error.
 */
#ifndef GB_NVENC_LIBRARY_H
#define GB_NVENC_LIBRARY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The loader reports a library or symbol it cannot load through this
 * macro; gb_nvenc_loader_log() keeps the message (with dlerror()'s detail)
 * as the error the caller hands back. @logctx is a struct gb_nvenc_loader_error.
 */
struct gb_nvenc_loader_error {
	char *text;
	size_t size;
};
void gb_nvenc_loader_log(void *logctx, const char *format, ...)
        __attribute__((format(printf, 2, 3)));
#define FFNV_LOG_FUNC(logctx, msg, ...) gb_nvenc_loader_log((logctx), (msg), __VA_ARGS__)
#define FFNV_DEBUG_LOG_FUNC(logctx, msg, ...)

#include <ffnvcodec/dynlink_loader.h>

struct gb_nvenc_library {
	CudaFunctions *cuda;
	NvencFunctions *nvenc;
	NV_ENCODE_API_FUNCTION_LIST api;
};

/** Load both libraries and the NVENC entry points. Undo with gb_nvenc_library_unload(). */
int gb_nvenc_library_load(struct gb_nvenc_library *library, char *error, size_t error_size);
/** Accepts a zeroed or half-loaded library. */
void gb_nvenc_library_unload(struct gb_nvenc_library *library);

struct gb_nvenc_session {
	struct gb_nvenc_library *library;
	CUcontext context;
	void *encoder; /* the NVENC session handle */
	char device_name[128];
};

/**
 * cuInit, pick CUDA device @device_index, create a context and open an
 * NVENC session on it. The context is not left current on the calling
 * thread: push it around CUDA calls (gb_nvenc_session_push()).
 */
int gb_nvenc_session_open(struct gb_nvenc_session *session, struct gb_nvenc_library *library,
                          int device_index, char *error, size_t error_size);
/** Destroy the NVENC session and the context. Accepts a zeroed or half-open session. */
void gb_nvenc_session_close(struct gb_nvenc_session *session);

/**
 * Can this session encode H.264 with the P1 preset tuned for low latency?
 * On success *config holds that preset's configuration, to start from.
 */
int gb_nvenc_session_low_latency_h264(struct gb_nvenc_session *session, NV_ENC_CONFIG *config,
                                      char *error, size_t error_size);

bool gb_nvenc_session_push(struct gb_nvenc_session *session);
void gb_nvenc_session_pop(struct gb_nvenc_session *session);

/** "NV_ENC_ERR_OUT_OF_MEMORY", ... */
const char *gb_nvenc_status_name(NVENCSTATUS status);
/** The errno that best says why: -EBUSY for a full GPU, -ENOTSUP for an old driver, ... */
int gb_nvenc_status_errno(NVENCSTATUS status);

#endif
