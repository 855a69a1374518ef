/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for the NVIDIA driver's libcuda.so.1, for tests only (never
 * installed): enough of the CUDA driver API for encoder-nvenc to create a
 * context. Every other symbol the ffnvcodec loader insists on exists and
 * fails. FAKE_CUDA_NO_DEVICE=1 makes cuInit report no device.
 */
#include <stdlib.h>

#include <ffnvcodec/dynlink_cuda.h>

#define FAKE_CUDA_ERROR_NO_DEVICE 100 /* cuda.h's CUDA_ERROR_NO_DEVICE */

/* Prototypes from the loader's own typedefs, so the signatures match. */
tcuInit cuInit;
tcuDeviceGetCount cuDeviceGetCount;
tcuDeviceGet cuDeviceGet;
tcuDeviceGetName cuDeviceGetName;
tcuCtxCreate_v2 cuCtxCreate_v2;
tcuCtxPushCurrent_v2 cuCtxPushCurrent_v2;
tcuCtxPopCurrent_v2 cuCtxPopCurrent_v2;
tcuCtxDestroy_v2 cuCtxDestroy_v2;
tcuGetErrorName cuGetErrorName;
tcuGetErrorString cuGetErrorString;

/* The context current on this thread: a stack of one is all the plugin uses. */
static __thread CUcontext current;
static int contexts; /* live contexts */

CUresult cuInit(unsigned int flags)
{
	return getenv("FAKE_CUDA_NO_DEVICE") ? (CUresult)FAKE_CUDA_ERROR_NO_DEVICE : CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int *count)
{
	*count = 1;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
	if (ordinal != 0)
		return CUDA_ERROR_UNKNOWN;
	*device = 0;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int length, CUdevice device)
{
	static const char fake[] = "Fake NVENC GPU";

	for (int i = 0; i < length; i++) {
		name[i] = i < (int)sizeof(fake) ? fake[i] : '\0';
		if (!name[i])
			break;
	}
	if (length > 0)
		name[length - 1] = '\0';
	return CUDA_SUCCESS;
}

CUresult cuCtxCreate_v2(CUcontext *context, unsigned int flags, CUdevice device)
{
	*context = malloc(16);
	if (!*context)
		return CUDA_ERROR_UNKNOWN;
	contexts++;
	current = *context; /* like the real one, the new context is made current */
	return CUDA_SUCCESS;
}

CUresult cuCtxPushCurrent_v2(CUcontext context)
{
	if (!context || current)
		return CUDA_ERROR_UNKNOWN; /* the plugin never nests contexts */
	current = context;
	return CUDA_SUCCESS;
}

CUresult cuCtxPopCurrent_v2(CUcontext *context)
{
	if (!current)
		return CUDA_ERROR_UNKNOWN;
	if (context)
		*context = current;
	current = NULL;
	return CUDA_SUCCESS;
}

CUresult cuCtxDestroy_v2(CUcontext context)
{
	if (!context)
		return CUDA_ERROR_UNKNOWN;
	if (current == context)
		current = NULL;
	contexts--;
	free(context);
	return CUDA_SUCCESS;
}

CUresult cuGetErrorName(CUresult error, const char **name)
{
	*name = error == FAKE_CUDA_ERROR_NO_DEVICE ? "CUDA_ERROR_NO_DEVICE" : "CUDA_ERROR_FAKE";
	return CUDA_SUCCESS;
}

CUresult cuGetErrorString(CUresult error, const char **text)
{
	*text = "an error of the fake CUDA driver";
	return CUDA_SUCCESS;
}

/* Loaded by ffnvcodec's loader, never called by encoder-nvenc: they fail. */
#define STUB(name)                                                                                \
	int name(void);                                                                           \
	int name(void)                                                                            \
	{                                                                                         \
		return CUDA_ERROR_UNKNOWN;                                                        \
	}

STUB(cuDeviceGetAttribute)
STUB(cuDeviceComputeCapability)
STUB(cuCtxSetLimit)
STUB(cuMemAlloc_v2)
STUB(cuMemAllocPitch_v2)
STUB(cuMemAllocManaged)
STUB(cuMemsetD8Async)
STUB(cuMemFree_v2)
STUB(cuMemcpy)
STUB(cuMemcpyAsync)
STUB(cuMemcpy2D_v2)
STUB(cuMemcpy2DAsync_v2)
STUB(cuMemcpyHtoD_v2)
STUB(cuMemcpyHtoDAsync_v2)
STUB(cuMemcpyDtoH_v2)
STUB(cuMemcpyDtoHAsync_v2)
STUB(cuMemcpyDtoD_v2)
STUB(cuMemcpyDtoDAsync_v2)
STUB(cuCtxGetDevice)
STUB(cuDevicePrimaryCtxRetain)
STUB(cuDevicePrimaryCtxRelease)
STUB(cuDevicePrimaryCtxSetFlags)
STUB(cuDevicePrimaryCtxGetState)
STUB(cuDevicePrimaryCtxReset)
STUB(cuStreamCreate)
STUB(cuStreamQuery)
STUB(cuStreamSynchronize)
STUB(cuStreamDestroy_v2)
STUB(cuStreamAddCallback)
STUB(cuEventCreate)
STUB(cuEventDestroy_v2)
STUB(cuEventSynchronize)
STUB(cuEventQuery)
STUB(cuEventRecord)
STUB(cuLaunchKernel)
STUB(cuLinkCreate)
STUB(cuLinkAddData)
STUB(cuLinkComplete)
STUB(cuLinkDestroy)
STUB(cuModuleLoadData)
STUB(cuModuleUnload)
STUB(cuModuleGetFunction)
STUB(cuModuleGetGlobal)
STUB(cuTexObjectCreate)
STUB(cuTexObjectDestroy)
STUB(cuGLGetDevices_v2)
STUB(cuGraphicsGLRegisterImage)
STUB(cuGraphicsUnregisterResource)
STUB(cuGraphicsMapResources)
STUB(cuGraphicsUnmapResources)
STUB(cuGraphicsSubResourceGetMappedArray)
STUB(cuGraphicsResourceGetMappedPointer_v2)
STUB(cuArray3DCreate_v2)
STUB(cuArrayDestroy)
