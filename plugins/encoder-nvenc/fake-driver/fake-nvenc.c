/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for the NVIDIA driver's libnvidia-encode.so.1, for tests only
 * (never installed). It is not an encoder: it checks that encoder-nvenc
 * calls the NVENC API the way the API's documentation says (versions set,
 * one initialisation per session, buffers locked and unlocked in pairs,
 * the settings low-latency streaming needs), and its "bitstream" is a fake
 * access unit that reports what it was given, so a test can see that the
 * picture's planes arrived and a forced keyframe was asked for:
 *
 *   00 00 00 01 67 (SPS, on IDR only)  00 00 00 01 65|41 (IDR or P slice)
 *   "FAKE" width:u16 height:u16 Y U V (the mean of each plane)
 *   bitrate_kbps:u32 frame:u32                       (little-endian)
 *
 * FAKE_NVENC_OPEN_STATUS=<n> makes nvEncOpenEncodeSessionEx fail with
 * NVENCSTATUS n. Any misuse is reported on stderr and fails the call with
 * NV_ENC_ERR_INVALID_CALL, which the plugin turns into an element error.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ffnvcodec/nvEncodeAPI.h>

#define PITCH_ALIGN 256

struct fake_buffer {
	uint8_t *data;
	uint32_t pitch, width, height;
	int locked;
};

struct fake_session {
	int initialised;
	uint32_t width, height;
	uint32_t bitrate_bps;
	struct fake_buffer *input;
	uint8_t *bitstream;
	uint32_t bitstream_size;
	NV_ENC_PIC_TYPE picture_type;
	int bitstream_locked;
	uint32_t frames;
	int live_buffers;
};

static NVENCSTATUS misuse(const char *what)
{
	fprintf(stderr, "fake NVENC: %s\n", what);
	return NV_ENC_ERR_INVALID_CALL;
}

static int guid_equal(const GUID *a, const GUID *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static NVENCSTATUS NVENCAPI fake_open(NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS *params, void **encoder)
{
	const char *fail = getenv("FAKE_NVENC_OPEN_STATUS");
	struct fake_session *session;

	if (fail && atoi(fail) > 0)
		return (NVENCSTATUS)atoi(fail);
	if (!params || params->version != NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER)
		return misuse("open: wrong version");
	if (params->deviceType != NV_ENC_DEVICE_TYPE_CUDA || !params->device)
		return misuse("open: not a CUDA context");
	if (params->apiVersion != NVENCAPI_VERSION)
		return NV_ENC_ERR_INVALID_VERSION;
	session = calloc(1, sizeof(*session));
	if (!session)
		return NV_ENC_ERR_OUT_OF_MEMORY;
	*encoder = session;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_guid_count(void *encoder, uint32_t *count)
{
	*count = 1;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_guids(void *encoder, GUID *guids, uint32_t size, uint32_t *count)
{
	if (size < 1)
		return NV_ENC_ERR_INVALID_PARAM;
	guids[0] = NV_ENC_CODEC_H264_GUID;
	*count = 1;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_preset_config(void *encoder, GUID codec, GUID preset,
                                               NV_ENC_TUNING_INFO tuning,
                                               NV_ENC_PRESET_CONFIG *config)
{
	if (!config || config->version != NV_ENC_PRESET_CONFIG_VER ||
	    config->presetCfg.version != NV_ENC_CONFIG_VER)
		return misuse("preset config: wrong version");
	if (!guid_equal(&codec, &NV_ENC_CODEC_H264_GUID))
		return NV_ENC_ERR_UNSUPPORTED_PARAM;
	if (!guid_equal(&preset, &NV_ENC_PRESET_P1_GUID) ||
	    tuning != NV_ENC_TUNING_INFO_LOW_LATENCY)
		return NV_ENC_ERR_UNSUPPORTED_PARAM;
	/* What a real P1 low-latency preset looks like, roughly. */
	config->presetCfg.gopLength = 30;
	config->presetCfg.frameIntervalP = 1;
	config->presetCfg.rcParams.rateControlMode = NV_ENC_PARAMS_RC_CBR;
	config->presetCfg.encodeCodecConfig.h264Config.idrPeriod = 30;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS check_config(const NV_ENC_CONFIG *config)
{
	const NV_ENC_CONFIG_H264 *h264 = &config->encodeCodecConfig.h264Config;

	if (config->version != NV_ENC_CONFIG_VER)
		return misuse("config: wrong version");
	if (config->frameIntervalP != 1 || config->gopLength != NVENC_INFINITE_GOPLENGTH ||
	    h264->idrPeriod != NVENC_INFINITE_GOPLENGTH)
		return misuse("config: B-frames or a finite GOP");
	if (config->rcParams.rateControlMode != NV_ENC_PARAMS_RC_CBR ||
	    config->rcParams.averageBitRate == 0 || config->rcParams.enableLookahead ||
	    !config->rcParams.zeroReorderDelay)
		return misuse("config: not CBR without lookahead");
	if (!h264->repeatSPSPPS)
		return misuse("config: SPS and PPS not repeated");
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_initialize(void *encoder, NV_ENC_INITIALIZE_PARAMS *params)
{
	struct fake_session *session = encoder;
	NVENCSTATUS status;

	if (!params || params->version != NV_ENC_INITIALIZE_PARAMS_VER)
		return misuse("initialize: wrong version");
	if (session->initialised)
		return misuse("initialize: called twice on one session");
	if (!guid_equal(&params->encodeGUID, &NV_ENC_CODEC_H264_GUID) ||
	    params->tuningInfo != NV_ENC_TUNING_INFO_LOW_LATENCY || !params->enablePTD ||
	    params->enableEncodeAsync)
		return misuse("initialize: not synchronous low-latency H.264");
	if (!params->encodeWidth || !params->encodeHeight || (params->encodeWidth & 1) ||
	    (params->encodeHeight & 1) || !params->frameRateNum || !params->encodeConfig)
		return misuse("initialize: bad size, frame rate or config");
	status = check_config(params->encodeConfig);
	if (status != NV_ENC_SUCCESS)
		return status;
	session->initialised = 1;
	session->width = params->encodeWidth;
	session->height = params->encodeHeight;
	session->bitrate_bps = params->encodeConfig->rcParams.averageBitRate;
	session->frames = 0;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_reconfigure(void *encoder, NV_ENC_RECONFIGURE_PARAMS *params)
{
	struct fake_session *session = encoder;
	NVENCSTATUS status;

	if (!params || params->version != NV_ENC_RECONFIGURE_PARAMS_VER || !session->initialised)
		return misuse("reconfigure: wrong version or not initialised");
	if (params->reInitEncodeParams.encodeWidth != session->width ||
	    params->reInitEncodeParams.encodeHeight != session->height ||
	    !params->reInitEncodeParams.encodeConfig)
		return misuse("reconfigure: size changed (needs a new session)");
	status = check_config(params->reInitEncodeParams.encodeConfig);
	if (status != NV_ENC_SUCCESS)
		return status;
	session->bitrate_bps = params->reInitEncodeParams.encodeConfig->rcParams.averageBitRate;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_create_input(void *encoder, NV_ENC_CREATE_INPUT_BUFFER *params)
{
	struct fake_session *session = encoder;
	struct fake_buffer *buffer;

	if (!params || params->version != NV_ENC_CREATE_INPUT_BUFFER_VER || !session->initialised)
		return misuse("create input: wrong version or not initialised");
	if (params->bufferFmt != NV_ENC_BUFFER_FORMAT_IYUV || params->width != session->width ||
	    params->height != session->height)
		return misuse("create input: not IYUV at the encode size");
	buffer = calloc(1, sizeof(*buffer));
	if (!buffer)
		return NV_ENC_ERR_OUT_OF_MEMORY;
	buffer->width = params->width;
	buffer->height = params->height;
	buffer->pitch = (params->width + PITCH_ALIGN - 1) / PITCH_ALIGN * PITCH_ALIGN;
	buffer->data = calloc(1, (size_t)buffer->pitch * buffer->height * 3 / 2);
	if (!buffer->data) {
		free(buffer);
		return NV_ENC_ERR_OUT_OF_MEMORY;
	}
	params->inputBuffer = buffer;
	session->input = buffer;
	session->live_buffers++;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_destroy_input(void *encoder, NV_ENC_INPUT_PTR input)
{
	struct fake_session *session = encoder;
	struct fake_buffer *buffer = input;

	if (!buffer || buffer->locked)
		return misuse("destroy input: missing or still locked");
	free(buffer->data);
	free(buffer);
	if (session->input == buffer)
		session->input = NULL;
	session->live_buffers--;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_create_bitstream(void *encoder,
                                                  NV_ENC_CREATE_BITSTREAM_BUFFER *params)
{
	struct fake_session *session = encoder;

	if (!params || params->version != NV_ENC_CREATE_BITSTREAM_BUFFER_VER ||
	    !session->initialised)
		return misuse("create bitstream: wrong version or not initialised");
	session->bitstream = calloc(1, 256);
	if (!session->bitstream)
		return NV_ENC_ERR_OUT_OF_MEMORY;
	params->bitstreamBuffer = session->bitstream;
	session->live_buffers++;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_destroy_bitstream(void *encoder, NV_ENC_OUTPUT_PTR output)
{
	struct fake_session *session = encoder;

	if (!output || output != session->bitstream || session->bitstream_locked)
		return misuse("destroy bitstream: unknown or still locked");
	free(session->bitstream);
	session->bitstream = NULL;
	session->live_buffers--;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_lock_input(void *encoder, NV_ENC_LOCK_INPUT_BUFFER *params)
{
	struct fake_buffer *buffer;

	if (!params || params->version != NV_ENC_LOCK_INPUT_BUFFER_VER || !params->inputBuffer)
		return misuse("lock input: wrong version or no buffer");
	buffer = params->inputBuffer;
	if (buffer->locked)
		return misuse("lock input: already locked");
	buffer->locked = 1;
	params->bufferDataPtr = buffer->data;
	params->pitch = buffer->pitch;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_unlock_input(void *encoder, NV_ENC_INPUT_PTR input)
{
	struct fake_buffer *buffer = input;

	if (!buffer || !buffer->locked)
		return misuse("unlock input: not locked");
	buffer->locked = 0;
	return NV_ENC_SUCCESS;
}

static unsigned plane_mean(const uint8_t *data, uint32_t pitch, uint32_t width, uint32_t height)
{
	uint64_t sum = 0;

	for (uint32_t y = 0; y < height; y++)
		for (uint32_t x = 0; x < width; x++)
			sum += data[(size_t)y * pitch + x];
	return (unsigned)(sum / ((uint64_t)width * height));
}

static void put16(uint8_t *p, uint32_t value)
{
	p[0] = (uint8_t)value;
	p[1] = (uint8_t)(value >> 8);
}

static void put32(uint8_t *p, uint32_t value)
{
	put16(p, value);
	put16(p + 2, value >> 16);
}

static NVENCSTATUS NVENCAPI fake_encode(void *encoder, NV_ENC_PIC_PARAMS *params)
{
	static const uint8_t sps[] = { 0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f };
	struct fake_session *session = encoder;
	struct fake_buffer *input;
	uint8_t *out = session->bitstream;
	uint32_t pitch, width, height;
	bool idr;

	if (!params || params->version != NV_ENC_PIC_PARAMS_VER || !session->initialised)
		return misuse("encode: wrong version or not initialised");
	input = params->inputBuffer;
	if (!input || input != session->input || input->locked || !params->outputBitstream ||
	    params->outputBitstream != session->bitstream || session->bitstream_locked)
		return misuse("encode: input still locked, or unknown buffers");
	if (params->inputWidth != session->width || params->inputHeight != session->height ||
	    params->inputPitch != input->pitch || params->bufferFmt != NV_ENC_BUFFER_FORMAT_IYUV ||
	    params->pictureStruct != NV_ENC_PIC_STRUCT_FRAME)
		return misuse("encode: picture does not match the session");

	pitch = input->pitch;
	width = session->width;
	height = session->height;
	idr = session->frames == 0 || (params->encodePicFlags & NV_ENC_PIC_FLAG_FORCEIDR);
	if ((params->encodePicFlags & NV_ENC_PIC_FLAG_FORCEIDR) &&
	    !(params->encodePicFlags & NV_ENC_PIC_FLAG_OUTPUT_SPSPPS))
		return misuse("encode: a forced IDR without SPS and PPS");

	session->bitstream_size = 0;
	if (idr) {
		memcpy(out, sps, sizeof(sps));
		session->bitstream_size += sizeof(sps);
	}
	out += session->bitstream_size;
	out[0] = 0;
	out[1] = 0;
	out[2] = 0;
	out[3] = 1;
	out[4] = idr ? 0x65 : 0x41;
	memcpy(out + 5, "FAKE", 4);
	put16(out + 9, width);
	put16(out + 11, height);
	/* IYUV: Y, then U and V at half the pitch. */
	out[13] = (uint8_t)plane_mean(input->data, pitch, width, height);
	out[14] = (uint8_t)plane_mean(input->data + (size_t)pitch * height, pitch / 2, width / 2,
	                              height / 2);
	out[15] = (uint8_t)plane_mean(input->data + (size_t)pitch * height +
	                                      (size_t)(pitch / 2) * (height / 2),
	                              pitch / 2, width / 2, height / 2);
	put32(out + 16, session->bitrate_bps / 1000);
	put32(out + 20, session->frames);
	session->bitstream_size += 24;
	session->picture_type = idr ? NV_ENC_PIC_TYPE_IDR : NV_ENC_PIC_TYPE_P;
	session->frames++;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_lock_bitstream(void *encoder, NV_ENC_LOCK_BITSTREAM *params)
{
	struct fake_session *session = encoder;

	if (!params || params->version != NV_ENC_LOCK_BITSTREAM_VER ||
	    params->outputBitstream != session->bitstream || session->bitstream_locked)
		return misuse("lock bitstream: wrong version, unknown buffer or locked");
	session->bitstream_locked = 1;
	params->bitstreamBufferPtr = session->bitstream;
	params->bitstreamSizeInBytes = session->bitstream_size;
	params->pictureType = session->picture_type;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_unlock_bitstream(void *encoder, NV_ENC_OUTPUT_PTR output)
{
	struct fake_session *session = encoder;

	if (output != session->bitstream || !session->bitstream_locked)
		return misuse("unlock bitstream: not locked");
	session->bitstream_locked = 0;
	return NV_ENC_SUCCESS;
}

static NVENCSTATUS NVENCAPI fake_destroy(void *encoder)
{
	struct fake_session *session = encoder;

	if (!session)
		return NV_ENC_ERR_INVALID_PTR;
	if (session->live_buffers)
		fprintf(stderr, "fake NVENC: session destroyed with %d buffers still alive\n",
		        session->live_buffers);
	free(session);
	return NV_ENC_SUCCESS;
}

static const char *NVENCAPI fake_last_error(void *encoder)
{
	return "fake NVENC";
}

NVENCSTATUS NVENCAPI NvEncodeAPIGetMaxSupportedVersion(uint32_t *version)
{
	*version = (NVENCAPI_MAJOR_VERSION << 4) | NVENCAPI_MINOR_VERSION;
	return NV_ENC_SUCCESS;
}

NVENCSTATUS NVENCAPI NvEncodeAPICreateInstance(NV_ENCODE_API_FUNCTION_LIST *list)
{
	if (!list || list->version != NV_ENCODE_API_FUNCTION_LIST_VER)
		return NV_ENC_ERR_INVALID_VERSION;
	list->nvEncOpenEncodeSessionEx = fake_open;
	list->nvEncGetEncodeGUIDCount = fake_guid_count;
	list->nvEncGetEncodeGUIDs = fake_guids;
	list->nvEncGetEncodePresetConfigEx = fake_preset_config;
	list->nvEncInitializeEncoder = fake_initialize;
	list->nvEncReconfigureEncoder = fake_reconfigure;
	list->nvEncCreateInputBuffer = fake_create_input;
	list->nvEncDestroyInputBuffer = fake_destroy_input;
	list->nvEncCreateBitstreamBuffer = fake_create_bitstream;
	list->nvEncDestroyBitstreamBuffer = fake_destroy_bitstream;
	list->nvEncLockInputBuffer = fake_lock_input;
	list->nvEncUnlockInputBuffer = fake_unlock_input;
	list->nvEncEncodePicture = fake_encode;
	list->nvEncLockBitstream = fake_lock_bitstream;
	list->nvEncUnlockBitstream = fake_unlock_bitstream;
	list->nvEncDestroyEncoder = fake_destroy;
	list->nvEncGetLastErrorString = fake_last_error;
	return NV_ENC_SUCCESS;
}
