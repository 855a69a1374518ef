/* SPDX-License-Identifier: MIT */
/*
 * Loading libcuda and libnvidia-encode, and opening one NVENC session, with
 * a precise reason for every way it can fail. See nvenc-library.h.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "nvenc-library.h"

/* cuda.h's value; ffnvcodec's trimmed header does not name it. */
#define CUDA_RESULT_NO_DEVICE 100

void gb_nvenc_loader_log(void *logctx, const char *format, ...)
{
	struct gb_nvenc_loader_error *sink = logctx;
	const char *detail = dlerror();
	va_list args;
	size_t length;

	if (!sink || !sink->text || sink->size == 0)
		return;
	/* dlerror() says more ("libcuda.so.1: cannot open shared object file: ..."). */
	if (detail) {
		snprintf(sink->text, sink->size, "%s", detail);
		return;
	}
	va_start(args, format);
	vsnprintf(sink->text, sink->size, format, args);
	va_end(args);
	length = strlen(sink->text);
	if (length > 0 && sink->text[length - 1] == '\n')
		sink->text[length - 1] = '\0';
}

const char *gb_nvenc_status_name(NVENCSTATUS status)
{
	switch (status) {
#define NAME(s)                                                                                   \
	case s:                                                                                   \
		return #s
		NAME(NV_ENC_SUCCESS);
		NAME(NV_ENC_ERR_NO_ENCODE_DEVICE);
		NAME(NV_ENC_ERR_UNSUPPORTED_DEVICE);
		NAME(NV_ENC_ERR_INVALID_ENCODERDEVICE);
		NAME(NV_ENC_ERR_INVALID_DEVICE);
		NAME(NV_ENC_ERR_DEVICE_NOT_EXIST);
		NAME(NV_ENC_ERR_INVALID_PTR);
		NAME(NV_ENC_ERR_INVALID_EVENT);
		NAME(NV_ENC_ERR_INVALID_PARAM);
		NAME(NV_ENC_ERR_INVALID_CALL);
		NAME(NV_ENC_ERR_OUT_OF_MEMORY);
		NAME(NV_ENC_ERR_ENCODER_NOT_INITIALIZED);
		NAME(NV_ENC_ERR_UNSUPPORTED_PARAM);
		NAME(NV_ENC_ERR_LOCK_BUSY);
		NAME(NV_ENC_ERR_NOT_ENOUGH_BUFFER);
		NAME(NV_ENC_ERR_INVALID_VERSION);
		NAME(NV_ENC_ERR_MAP_FAILED);
		NAME(NV_ENC_ERR_NEED_MORE_INPUT);
		NAME(NV_ENC_ERR_ENCODER_BUSY);
		NAME(NV_ENC_ERR_EVENT_NOT_REGISTERD);
		NAME(NV_ENC_ERR_GENERIC);
		NAME(NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY);
		NAME(NV_ENC_ERR_UNIMPLEMENTED);
		NAME(NV_ENC_ERR_RESOURCE_REGISTER_FAILED);
		NAME(NV_ENC_ERR_RESOURCE_NOT_REGISTERED);
		NAME(NV_ENC_ERR_RESOURCE_NOT_MAPPED);
#undef NAME
	}
	return "NV_ENC_ERR_(unknown)";
}

int gb_nvenc_status_errno(NVENCSTATUS status)
{
	switch (status) {
	case NV_ENC_SUCCESS:
		return 0;
	case NV_ENC_ERR_NO_ENCODE_DEVICE:
	case NV_ENC_ERR_UNSUPPORTED_DEVICE:
	case NV_ENC_ERR_INVALID_ENCODERDEVICE:
	case NV_ENC_ERR_INVALID_DEVICE:
	case NV_ENC_ERR_DEVICE_NOT_EXIST:
		return -ENODEV;
	/* Consumer GPUs limit concurrent sessions; the driver says "out of memory". */
	case NV_ENC_ERR_OUT_OF_MEMORY:
	case NV_ENC_ERR_ENCODER_BUSY:
	case NV_ENC_ERR_LOCK_BUSY:
		return -EBUSY;
	case NV_ENC_ERR_INVALID_VERSION:
	case NV_ENC_ERR_UNSUPPORTED_PARAM:
	case NV_ENC_ERR_UNIMPLEMENTED:
		return -ENOTSUP;
	case NV_ENC_ERR_INVALID_PARAM:
	case NV_ENC_ERR_INVALID_PTR:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static const char *cuda_error_name(const struct gb_nvenc_library *library, CUresult result)
{
	const char *name = NULL;

	if (library->cuda && library->cuda->cuGetErrorName &&
	    library->cuda->cuGetErrorName(result, &name) == CUDA_SUCCESS && name)
		return name;
	return "CUDA_ERROR_(unknown)";
}

int gb_nvenc_library_load(struct gb_nvenc_library *library, char *error, size_t error_size)
{
	struct gb_nvenc_loader_error log = { .text = error, .size = error_size };
	uint32_t driver_version = 0;
	uint32_t needed = (NVENCAPI_MAJOR_VERSION << 4) | NVENCAPI_MINOR_VERSION;
	NVENCSTATUS status;

	memset(library, 0, sizeof(*library));
	if (error_size > 0)
		error[0] = '\0';

	/* Clear any stale dlerror() so that the loader's report is about this load. */
	(void)dlerror();
	if (cuda_load_functions(&library->cuda, &log) < 0) {
		if (!error[0])
			gb_error_set(error, error_size, "libcuda.so.1 cannot be loaded");
		goto fail;
	}
	(void)dlerror();
	if (nvenc_load_functions(&library->nvenc, &log) < 0) {
		if (!error[0])
			gb_error_set(error, error_size, "libnvidia-encode.so.1 cannot be loaded");
		goto fail;
	}

	/* A driver older than our headers refuses the session with INVALID_VERSION: say why. */
	status = library->nvenc->NvEncodeAPIGetMaxSupportedVersion(&driver_version);
	if (status != NV_ENC_SUCCESS) {
		gb_error_set(error, error_size, "NvEncodeAPIGetMaxSupportedVersion failed: %s",
		             gb_nvenc_status_name(status));
		gb_nvenc_library_unload(library);
		return gb_nvenc_status_errno(status);
	}
	if (driver_version < needed) {
		gb_error_set(error, error_size,
		             "the NVIDIA driver offers NVENC API %u.%u, this plugin needs %u.%u: "
		             "update the driver",
		             driver_version >> 4, driver_version & 0xf,
		             (unsigned)NVENCAPI_MAJOR_VERSION, (unsigned)NVENCAPI_MINOR_VERSION);
		gb_nvenc_library_unload(library);
		return -ENOTSUP;
	}

	library->api.version = NV_ENCODE_API_FUNCTION_LIST_VER;
	status = library->nvenc->NvEncodeAPICreateInstance(&library->api);
	if (status != NV_ENC_SUCCESS) {
		gb_error_set(error, error_size, "NvEncodeAPICreateInstance failed: %s",
		             gb_nvenc_status_name(status));
		gb_nvenc_library_unload(library);
		return gb_nvenc_status_errno(status);
	}
	return 0;

fail:
	gb_nvenc_library_unload(library);
	return -ENODEV;
}

void gb_nvenc_library_unload(struct gb_nvenc_library *library)
{
	if (!library)
		return;
	/* Both accept NULL and set the pointer back to NULL. */
	nvenc_free_functions(&library->nvenc);
	cuda_free_functions(&library->cuda);
	memset(&library->api, 0, sizeof(library->api));
}

bool gb_nvenc_session_push(struct gb_nvenc_session *session)
{
	return session->context &&
	       session->library->cuda->cuCtxPushCurrent(session->context) == CUDA_SUCCESS;
}

void gb_nvenc_session_pop(struct gb_nvenc_session *session)
{
	CUcontext popped;

	session->library->cuda->cuCtxPopCurrent(&popped);
}

int gb_nvenc_session_open(struct gb_nvenc_session *session, struct gb_nvenc_library *library,
                          int device_index, char *error, size_t error_size)
{
	CudaFunctions *cuda = library->cuda;
	NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS params;
	CUcontext popped;
	CUdevice device;
	CUresult result;
	NVENCSTATUS status;
	int count = 0;

	memset(session, 0, sizeof(*session));
	session->library = library;

	result = cuda->cuInit(0);
	if ((int)result == CUDA_RESULT_NO_DEVICE) {
		gb_error_set(error, error_size, "no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)");
		return -ENODEV;
	}
	if (result != CUDA_SUCCESS) {
		gb_error_set(error, error_size, "cuInit failed: %s",
		             cuda_error_name(library, result));
		return -ENODEV;
	}
	result = cuda->cuDeviceGetCount(&count);
	if (result != CUDA_SUCCESS || count == 0) {
		gb_error_set(error, error_size, "no CUDA device");
		return -ENODEV;
	}
	if (device_index < 0 || device_index >= count) {
		gb_error_set(error, error_size, "no CUDA device %d (there are %d)", device_index,
		             count);
		return -ENODEV;
	}
	result = cuda->cuDeviceGet(&device, device_index);
	if (result != CUDA_SUCCESS) {
		gb_error_set(error, error_size, "cuDeviceGet(%d) failed: %s", device_index,
		             cuda_error_name(library, result));
		return -ENODEV;
	}
	if (cuda->cuDeviceGetName(session->device_name, (int)sizeof(session->device_name),
	                          device) != CUDA_SUCCESS)
		snprintf(session->device_name, sizeof(session->device_name), "CUDA device %d",
		         device_index);
	result = cuda->cuCtxCreate(&session->context, CU_CTX_SCHED_BLOCKING_SYNC, device);
	if (result != CUDA_SUCCESS) {
		session->context = NULL;
		gb_error_set(error, error_size, "cuCtxCreate on %s failed: %s",
		             session->device_name, cuda_error_name(library, result));
		return -ENODEV;
	}

	memset(&params, 0, sizeof(params));
	params.version = NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER;
	params.deviceType = NV_ENC_DEVICE_TYPE_CUDA;
	params.device = session->context;
	params.apiVersion = NVENCAPI_VERSION;
	/* cuCtxCreate left the context current; the session takes it as a parameter. */
	status = library->api.nvEncOpenEncodeSessionEx(&params, &session->encoder);
	cuda->cuCtxPopCurrent(&popped);
	if (status != NV_ENC_SUCCESS) {
		session->encoder = NULL;
		gb_error_set(error, error_size, "NVENC session on %s failed: %s",
		             session->device_name, gb_nvenc_status_name(status));
		gb_nvenc_session_close(session);
		return gb_nvenc_status_errno(status);
	}
	return 0;
}

void gb_nvenc_session_close(struct gb_nvenc_session *session)
{
	if (!session || !session->library)
		return;
	if (session->encoder) {
		bool pushed = gb_nvenc_session_push(session);

		session->library->api.nvEncDestroyEncoder(session->encoder);
		if (pushed)
			gb_nvenc_session_pop(session);
		session->encoder = NULL;
	}
	if (session->context) {
		session->library->cuda->cuCtxDestroy(session->context);
		session->context = NULL;
	}
}

static bool guid_equal(const GUID *a, const GUID *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

int gb_nvenc_session_low_latency_h264(struct gb_nvenc_session *session, NV_ENC_CONFIG *config,
                                      char *error, size_t error_size)
{
	NV_ENCODE_API_FUNCTION_LIST *api = &session->library->api;
	NV_ENC_PRESET_CONFIG preset;
	GUID guids[32];
	uint32_t count = 0, filled = 0;
	NVENCSTATUS status;
	bool h264 = false;

	status = api->nvEncGetEncodeGUIDCount(session->encoder, &count);
	if (status == NV_ENC_SUCCESS) {
		if (count > sizeof(guids) / sizeof(guids[0]))
			count = sizeof(guids) / sizeof(guids[0]);
		status = api->nvEncGetEncodeGUIDs(session->encoder, guids, count, &filled);
	}
	if (status != NV_ENC_SUCCESS) {
		gb_error_set(error, error_size, "NVENC on %s lists no codecs: %s",
		             session->device_name, gb_nvenc_status_name(status));
		return gb_nvenc_status_errno(status);
	}
	for (uint32_t i = 0; i < filled && i < count; i++)
		h264 |= guid_equal(&guids[i], &NV_ENC_CODEC_H264_GUID);
	if (!h264) {
		gb_error_set(error, error_size, "NVENC on %s cannot encode H.264",
		             session->device_name);
		return -ENOTSUP;
	}

	memset(&preset, 0, sizeof(preset));
	preset.version = NV_ENC_PRESET_CONFIG_VER;
	preset.presetCfg.version = NV_ENC_CONFIG_VER;
	status = api->nvEncGetEncodePresetConfigEx(session->encoder, NV_ENC_CODEC_H264_GUID,
	                                           NV_ENC_PRESET_P1_GUID,
	                                           NV_ENC_TUNING_INFO_LOW_LATENCY, &preset);
	if (status != NV_ENC_SUCCESS) {
		gb_error_set(error, error_size,
		             "NVENC on %s has no low-latency P1 preset for H.264: %s",
		             session->device_name, gb_nvenc_status_name(status));
		return gb_nvenc_status_errno(status);
	}
	if (config)
		*config = preset.presetCfg;
	return 0;
}
