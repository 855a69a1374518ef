/* SPDX-License-Identifier: MIT */
/*
 * The NVENC H.264 encoder element. THIS ENCODE PATH HAS NEVER RUN ON NVENC
 * HARDWARE: it is written against the NVENC API (Video Codec SDK 11.1, the
 * ffnvcodec headers) and builds everywhere, but the machines it was
 * written on have no NVIDIA encoder. See README.md.
 *
 * One synchronous NVENC session: each frame is copied into an NVENC input
 * buffer (IYUV, system memory, what the driver uploads itself), encoded,
 * and its bitstream locked (which waits for the encode) and copied out
 * before the next frame comes in. With the P1 preset, low-latency tuning,
 * no B-frames and an infinite GOP nothing is ever held back, so there is
 * nothing to drain. A forced keyframe is an IDR with SPS and PPS in front
 * of it. New caps (a resize) close the session and open a new one at the
 * new size; a new bitrate is applied with nvEncReconfigureEncoder.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include <gst/video/video.h>

#include "nvenc-h264-enc.h"
#include "nvenc-library.h"

#define DEFAULT_BITRATE_KBPS 6000
#define DEFAULT_MAX_FPS      60
#define MAX_BITRATE_KBPS     1000000

/* VUI: BT.601 limited range (H.264 Annex E: 6 is SMPTE 170M, 5 "unspecified" format). */
#define VUI_SMPTE170M   6
#define VUI_UNSPECIFIED 5

typedef struct {
	GstVideoEncoder parent;

	/* Properties, under the object lock. */
	guint bitrate_kbps;
	gint device;
	guint max_fps;
	gboolean bitrate_changed;

	/* Streaming state: start() to stop(). */
	struct gb_nvenc_library library;
	bool library_loaded;
	struct gb_nvenc_session session;
	bool session_open;
	bool initialised;
	NV_ENC_INITIALIZE_PARAMS init_params;
	NV_ENC_CONFIG config;
	NV_ENC_INPUT_PTR input;
	NV_ENC_OUTPUT_PTR output;
	GstVideoCodecState *input_state;
	guint width, height;
} GbNvencH264Enc;

typedef struct {
	GstVideoEncoderClass parent_class;
} GbNvencH264EncClass;

enum {
	PROP_0,
	PROP_BITRATE,
	PROP_DEVICE,
	PROP_MAX_FPS,
};

static GstStaticPadTemplate sink_template =
        GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                                GST_STATIC_CAPS("video/x-raw, format = (string) I420, "
                                                "width = (int) [ 64, 4096 ], "
                                                "height = (int) [ 64, 4096 ]"));

static GstStaticPadTemplate src_template =
        GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS,
                                GST_STATIC_CAPS("video/x-h264, stream-format = (string) "
                                                "byte-stream, alignment = (string) au"));

#define GB_NVENC_H264_ENC(object) ((GbNvencH264Enc *)(object))

static void nvenc_set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
	GbNvencH264Enc *self = GB_NVENC_H264_ENC(object);

	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_BITRATE:
		self->bitrate_kbps = g_value_get_uint(value);
		self->bitrate_changed = TRUE;
		break;
	case PROP_DEVICE:
		self->device = g_value_get_int(value);
		break;
	case PROP_MAX_FPS:
		self->max_fps = g_value_get_uint(value);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void nvenc_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
	GbNvencH264Enc *self = GB_NVENC_H264_ENC(object);

	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_BITRATE:
		g_value_set_uint(value, self->bitrate_kbps);
		break;
	case PROP_DEVICE:
		g_value_set_int(value, self->device);
		break;
	case PROP_MAX_FPS:
		g_value_set_uint(value, self->max_fps);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void destroy_buffers(GbNvencH264Enc *self)
{
	NV_ENCODE_API_FUNCTION_LIST *api = &self->library.api;
	bool pushed;

	if (!self->session_open || (!self->input && !self->output))
		return;
	pushed = gb_nvenc_session_push(&self->session);
	if (self->input)
		api->nvEncDestroyInputBuffer(self->session.encoder, self->input);
	if (self->output)
		api->nvEncDestroyBitstreamBuffer(self->session.encoder, self->output);
	if (pushed)
		gb_nvenc_session_pop(&self->session);
	self->input = NULL;
	self->output = NULL;
}

static void close_session(GbNvencH264Enc *self)
{
	destroy_buffers(self);
	if (self->session_open)
		gb_nvenc_session_close(&self->session);
	self->session_open = false;
	self->initialised = false;
}

static gboolean open_session(GbNvencH264Enc *self)
{
	char error[256];
	gint device;
	int r;

	GST_OBJECT_LOCK(self);
	device = self->device;
	GST_OBJECT_UNLOCK(self);
	r = gb_nvenc_session_open(&self->session, &self->library, device, error, sizeof(error));
	if (r < 0) {
		GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("NVENC: %s", error), (NULL));
		return FALSE;
	}
	self->session_open = true;
	return TRUE;
}

static gboolean nvenc_start(GstVideoEncoder *encoder)
{
	GbNvencH264Enc *self = GB_NVENC_H264_ENC(encoder);
	char error[256];

	if (gb_nvenc_library_load(&self->library, error, sizeof(error)) < 0) {
		GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("NVENC: %s", error), (NULL));
		return FALSE;
	}
	self->library_loaded = true;
	/* Open now, so that a missing GPU fails the state change, not the first frame. */
	if (!open_session(self)) {
		gb_nvenc_library_unload(&self->library);
		self->library_loaded = false;
		return FALSE;
	}
	return TRUE;
}

static gboolean nvenc_stop(GstVideoEncoder *encoder)
{
	GbNvencH264Enc *self = GB_NVENC_H264_ENC(encoder);

	close_session(self);
	if (self->library_loaded)
		gb_nvenc_library_unload(&self->library);
	self->library_loaded = false;
	g_clear_pointer(&self->input_state, gst_video_codec_state_unref);
	return TRUE;
}

/* CBR with a VBV of one frame: a frame never waits for bits of the next. */
static void apply_rate_control(GbNvencH264Enc *self, guint bitrate_kbps, guint max_fps)
{
	NV_ENC_RC_PARAMS *rc = &self->config.rcParams;
	uint32_t bits = bitrate_kbps * 1000u;

	rc->rateControlMode = NV_ENC_PARAMS_RC_CBR;
	rc->averageBitRate = bits;
	rc->maxBitRate = bits;
	rc->vbvBufferSize = bits / (max_fps ? max_fps : DEFAULT_MAX_FPS);
	rc->vbvInitialDelay = rc->vbvBufferSize;
	rc->enableLookahead = 0;
	rc->zeroReorderDelay = 1;
}

static gboolean initialise_encoder(GbNvencH264Enc *self, guint width, guint height)
{
	NV_ENCODE_API_FUNCTION_LIST *api = &self->library.api;
	NV_ENC_CONFIG_H264 *h264 = &self->config.encodeCodecConfig.h264Config;
	NV_ENC_CREATE_INPUT_BUFFER input;
	NV_ENC_CREATE_BITSTREAM_BUFFER output;
	NVENCSTATUS status;
	char error[256];
	guint bitrate, max_fps;
	int r;

	GST_OBJECT_LOCK(self);
	bitrate = self->bitrate_kbps;
	max_fps = self->max_fps;
	self->bitrate_changed = FALSE;
	GST_OBJECT_UNLOCK(self);

	/* Start from the P1 low-latency preset, then pin what streaming needs. */
	r = gb_nvenc_session_low_latency_h264(&self->session, &self->config, error, sizeof(error));
	if (r < 0) {
		GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("NVENC: %s", error), (NULL));
		return FALSE;
	}
	self->config.version = NV_ENC_CONFIG_VER;
	self->config.profileGUID = NV_ENC_H264_PROFILE_BASELINE_GUID;
	self->config.gopLength = NVENC_INFINITE_GOPLENGTH;
	self->config.frameIntervalP = 1; /* I and P only: no B-frames, no reordering */
	apply_rate_control(self, bitrate, max_fps);
	h264->idrPeriod = NVENC_INFINITE_GOPLENGTH;
	h264->repeatSPSPPS = 1;
	h264->outputAUD = 0;
	h264->sliceMode = 0;
	h264->sliceModeData = 0;
	h264->chromaFormatIDC = 1;
	h264->h264VUIParameters.videoSignalTypePresentFlag = 1;
	h264->h264VUIParameters.videoFormat = VUI_UNSPECIFIED;
	h264->h264VUIParameters.videoFullRangeFlag = 0;
	h264->h264VUIParameters.colourDescriptionPresentFlag = 1;
	h264->h264VUIParameters.colourPrimaries = VUI_SMPTE170M;
	h264->h264VUIParameters.transferCharacteristics = VUI_SMPTE170M;
	h264->h264VUIParameters.colourMatrix = VUI_SMPTE170M;

	memset(&self->init_params, 0, sizeof(self->init_params));
	self->init_params.version = NV_ENC_INITIALIZE_PARAMS_VER;
	self->init_params.encodeGUID = NV_ENC_CODEC_H264_GUID;
	self->init_params.presetGUID = NV_ENC_PRESET_P1_GUID;
	self->init_params.tuningInfo = NV_ENC_TUNING_INFO_LOW_LATENCY;
	self->init_params.encodeWidth = width;
	self->init_params.encodeHeight = height;
	self->init_params.darWidth = width;
	self->init_params.darHeight = height;
	self->init_params.maxEncodeWidth = width;
	self->init_params.maxEncodeHeight = height;
	self->init_params.frameRateNum = max_fps ? max_fps : DEFAULT_MAX_FPS;
	self->init_params.frameRateDen = 1;
	self->init_params.enablePTD = 1;
	self->init_params.enableEncodeAsync = 0;
	self->init_params.encodeConfig = &self->config;

	if (!gb_nvenc_session_push(&self->session)) {
		GST_ELEMENT_ERROR(self, LIBRARY, INIT,
		                  ("NVENC: cannot make the CUDA context current"), (NULL));
		return FALSE;
	}
	status = api->nvEncInitializeEncoder(self->session.encoder, &self->init_params);
	if (status == NV_ENC_SUCCESS) {
		memset(&input, 0, sizeof(input));
		input.version = NV_ENC_CREATE_INPUT_BUFFER_VER;
		input.width = width;
		input.height = height;
		input.bufferFmt = NV_ENC_BUFFER_FORMAT_IYUV;
		status = api->nvEncCreateInputBuffer(self->session.encoder, &input);
		if (status == NV_ENC_SUCCESS)
			self->input = input.inputBuffer;
	}
	if (status == NV_ENC_SUCCESS) {
		memset(&output, 0, sizeof(output));
		output.version = NV_ENC_CREATE_BITSTREAM_BUFFER_VER;
		status = api->nvEncCreateBitstreamBuffer(self->session.encoder, &output);
		if (status == NV_ENC_SUCCESS)
			self->output = output.bitstreamBuffer;
	}
	gb_nvenc_session_pop(&self->session);
	if (status != NV_ENC_SUCCESS) {
		GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
		                  ("NVENC: cannot set up a %ux%u H.264 encoder on %s: %s", width,
		                   height, self->session.device_name,
		                   gb_nvenc_status_name(status)),
		                  (NULL));
		destroy_buffers(self);
		return FALSE;
	}
	self->width = width;
	self->height = height;
	self->initialised = true;
	return TRUE;
}

static gboolean nvenc_set_format(GstVideoEncoder *encoder, GstVideoCodecState *state)
{
	GbNvencH264Enc *self = GB_NVENC_H264_ENC(encoder);
	guint width = GST_VIDEO_INFO_WIDTH(&state->info);
	guint height = GST_VIDEO_INFO_HEIGHT(&state->info);
	GstVideoCodecState *output;
	GstCaps *caps;

	/* NVENC's 4:2:0 wants whole chroma samples. */
	if ((width | height) & 1) {
		GST_ELEMENT_ERROR(self, STREAM, FORMAT,
		                  ("NVENC: %ux%u is not an even size", width, height), (NULL));
		return FALSE;
	}
	/* An NVENC session is initialised once: a new size takes a new session. */
	if (self->initialised) {
		close_session(self);
		if (!open_session(self))
			return FALSE;
	}
	if (!initialise_encoder(self, width, height))
		return FALSE;

	g_clear_pointer(&self->input_state, gst_video_codec_state_unref);
	self->input_state = gst_video_codec_state_ref(state);
	caps = gst_caps_from_string("video/x-h264, stream-format = (string) byte-stream, "
	                            "alignment = (string) au");
	if (!caps)
		return FALSE;
	output = gst_video_encoder_set_output_state(encoder, caps, state);
	if (!output)
		return FALSE;
	gst_video_codec_state_unref(output);
	gst_video_encoder_set_latency(encoder, 0, 0);
	return gst_video_encoder_negotiate(encoder);
}

static void apply_bitrate_change(GbNvencH264Enc *self)
{
	NV_ENC_RECONFIGURE_PARAMS params;
	NVENCSTATUS status;
	guint bitrate, max_fps;
	gboolean changed;

	GST_OBJECT_LOCK(self);
	changed = self->bitrate_changed;
	bitrate = self->bitrate_kbps;
	max_fps = self->max_fps;
	self->bitrate_changed = FALSE;
	GST_OBJECT_UNLOCK(self);
	if (!changed)
		return;

	apply_rate_control(self, bitrate, max_fps);
	memset(&params, 0, sizeof(params));
	params.version = NV_ENC_RECONFIGURE_PARAMS_VER;
	params.reInitEncodeParams = self->init_params;
	params.reInitEncodeParams.encodeConfig = &self->config;
	params.resetEncoder = 0;
	params.forceIDR = 0;
	status = self->library.api.nvEncReconfigureEncoder(self->session.encoder, &params);
	if (status != NV_ENC_SUCCESS)
		GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS,
		                    ("NVENC: cannot change the bitrate to %u kbit/s: %s", bitrate,
		                     gb_nvenc_status_name(status)),
		                    (NULL));
}

/* I420 planes into the IYUV input buffer: Y at pitch, then U and V at half pitch. */
static void copy_frame(const GstVideoFrame *frame, uint8_t *destination, uint32_t pitch,
                       guint height)
{
	uint8_t *planes[3] = {
		destination,
		destination + (size_t)pitch * height,
		destination + (size_t)pitch * height + (size_t)(pitch / 2) * (height / 2),
	};
	const uint32_t pitches[3] = { pitch, pitch / 2, pitch / 2 };

	for (guint plane = 0; plane < 3; plane++) {
		const uint8_t *source = GST_VIDEO_FRAME_PLANE_DATA(frame, plane);
		gint stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, plane);
		guint width = (guint)GST_VIDEO_FRAME_COMP_WIDTH(frame, plane);
		guint rows = (guint)GST_VIDEO_FRAME_COMP_HEIGHT(frame, plane);

		for (guint row = 0; row < rows; row++)
			memcpy(planes[plane] + (size_t)row * pitches[plane],
			       source + (size_t)row * (size_t)stride, width);
	}
}

static GstFlowReturn nvenc_handle_frame(GstVideoEncoder *encoder, GstVideoCodecFrame *frame)
{
	GbNvencH264Enc *self = GB_NVENC_H264_ENC(encoder);
	NV_ENCODE_API_FUNCTION_LIST *api = &self->library.api;
	NV_ENC_LOCK_INPUT_BUFFER lock_input;
	NV_ENC_PIC_PARAMS picture;
	NV_ENC_LOCK_BITSTREAM lock_output;
	NVENCSTATUS status;
	GstVideoFrame video_frame;
	const char *failed = NULL;
	bool locked_output = false;

	if (!self->initialised || !self->input_state) {
		gst_video_codec_frame_unref(frame);
		return GST_FLOW_NOT_NEGOTIATED;
	}
	if (!gst_video_frame_map(&video_frame, &self->input_state->info, frame->input_buffer,
	                         GST_MAP_READ)) {
		gst_video_codec_frame_unref(frame);
		return GST_FLOW_ERROR;
	}
	if (!gb_nvenc_session_push(&self->session)) {
		gst_video_frame_unmap(&video_frame);
		gst_video_codec_frame_unref(frame);
		GST_ELEMENT_ERROR(self, LIBRARY, FAILED,
		                  ("NVENC: cannot make the CUDA context current"), (NULL));
		return GST_FLOW_ERROR;
	}
	apply_bitrate_change(self);

	memset(&lock_input, 0, sizeof(lock_input));
	lock_input.version = NV_ENC_LOCK_INPUT_BUFFER_VER;
	lock_input.inputBuffer = self->input;
	status = api->nvEncLockInputBuffer(self->session.encoder, &lock_input);
	if (status != NV_ENC_SUCCESS) {
		failed = "nvEncLockInputBuffer";
		goto out;
	}
	copy_frame(&video_frame, lock_input.bufferDataPtr, lock_input.pitch, self->height);
	status = api->nvEncUnlockInputBuffer(self->session.encoder, self->input);
	if (status != NV_ENC_SUCCESS) {
		failed = "nvEncUnlockInputBuffer";
		goto out;
	}

	memset(&picture, 0, sizeof(picture));
	picture.version = NV_ENC_PIC_PARAMS_VER;
	picture.inputWidth = self->width;
	picture.inputHeight = self->height;
	picture.inputPitch = lock_input.pitch;
	picture.inputBuffer = self->input;
	picture.outputBitstream = self->output;
	picture.bufferFmt = NV_ENC_BUFFER_FORMAT_IYUV;
	picture.pictureStruct = NV_ENC_PIC_STRUCT_FRAME;
	picture.inputTimeStamp = frame->system_frame_number;
	/* A viewer asked (GstForceKeyUnit): an IDR that carries its own SPS and PPS. */
	if (GST_VIDEO_CODEC_FRAME_IS_FORCE_KEYFRAME(frame))
		picture.encodePicFlags = NV_ENC_PIC_FLAG_FORCEIDR | NV_ENC_PIC_FLAG_OUTPUT_SPSPPS;
	status = api->nvEncEncodePicture(self->session.encoder, &picture);
	if (status != NV_ENC_SUCCESS) {
		/* NEED_MORE_INPUT only comes with reordering, which is off. */
		failed = "nvEncEncodePicture";
		goto out;
	}

	memset(&lock_output, 0, sizeof(lock_output));
	lock_output.version = NV_ENC_LOCK_BITSTREAM_VER;
	lock_output.outputBitstream = self->output;
	status = api->nvEncLockBitstream(self->session.encoder, &lock_output);
	if (status != NV_ENC_SUCCESS) {
		failed = "nvEncLockBitstream";
		goto out;
	}
	locked_output = true;
	frame->output_buffer = gst_buffer_new_memdup(lock_output.bitstreamBufferPtr,
	                                             lock_output.bitstreamSizeInBytes);
	if (lock_output.pictureType == NV_ENC_PIC_TYPE_IDR)
		GST_VIDEO_CODEC_FRAME_SET_SYNC_POINT(frame);
	else
		GST_VIDEO_CODEC_FRAME_UNSET_SYNC_POINT(frame);

out:
	if (locked_output)
		api->nvEncUnlockBitstream(self->session.encoder, self->output);
	gb_nvenc_session_pop(&self->session);
	gst_video_frame_unmap(&video_frame);
	if (failed) {
		GST_ELEMENT_ERROR(self, STREAM, ENCODE,
		                  ("NVENC: %s failed: %s", failed, gb_nvenc_status_name(status)),
		                  (NULL));
		gst_video_codec_frame_unref(frame);
		return GST_FLOW_ERROR;
	}
	return gst_video_encoder_finish_frame(encoder, frame);
}

static void nvenc_class_init(gpointer klass, gpointer class_data)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
	GstVideoEncoderClass *encoder_class = GST_VIDEO_ENCODER_CLASS(klass);

	object_class->set_property = nvenc_set_property;
	object_class->get_property = nvenc_get_property;

	g_object_class_install_property(
	        object_class, PROP_BITRATE,
	        g_param_spec_uint("bitrate", "Bitrate", "Target bitrate in kbit/s (CBR)", 1,
	                          MAX_BITRATE_KBPS, DEFAULT_BITRATE_KBPS,
	                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
	                                  GST_PARAM_MUTABLE_PLAYING));
	g_object_class_install_property(
	        object_class, PROP_DEVICE,
	        g_param_spec_int("device", "Device", "CUDA device index", 0, 63, 0,
	                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
	                                 GST_PARAM_MUTABLE_READY));
	g_object_class_install_property(
	        object_class, PROP_MAX_FPS,
	        g_param_spec_uint(
	                "max-fps", "Maximum frame rate",
	                "Frames a second at most, for the rate control", 1, 240, DEFAULT_MAX_FPS,
	                G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

	gst_element_class_add_static_pad_template(element_class, &sink_template);
	gst_element_class_add_static_pad_template(element_class, &src_template);
	gst_element_class_set_static_metadata(
	        element_class, "Glassbox NVENC H.264 encoder", "Codec/Encoder/Video/Hardware",
	        "H.264 on NVIDIA GPUs through NVENC, for low latency", "Glassbox");

	encoder_class->start = nvenc_start;
	encoder_class->stop = nvenc_stop;
	encoder_class->set_format = nvenc_set_format;
	encoder_class->handle_frame = nvenc_handle_frame;
}

static void nvenc_instance_init(GTypeInstance *instance, gpointer klass)
{
	GbNvencH264Enc *self = GB_NVENC_H264_ENC(instance);

	self->bitrate_kbps = DEFAULT_BITRATE_KBPS;
	self->max_fps = DEFAULT_MAX_FPS;
}

/*
 * A GType cannot be unregistered, and its class functions live in this
 * module: once the type exists the module must never be unloaded, or the
 * next plugin load (a reload) would find a type pointing at unmapped code.
 */
static void stay_resident(void)
{
	static const char anchor;
	Dl_info info;

	if (dladdr(&anchor, &info) && info.dli_fname)
		/* The handle is deliberately kept: RTLD_NODELETE pins the module. */
		(void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

GType gb_nvenc_h264_enc_get_type(void)
{
	static GType type = G_TYPE_INVALID;
	static bool tried;

	if (tried)
		return type;
	tried = true;
	if (g_type_from_name(GB_NVENC_H264_ENC_TYPE_NAME))
		return G_TYPE_INVALID;
	stay_resident();
	type = g_type_register_static_simple(GST_TYPE_VIDEO_ENCODER, GB_NVENC_H264_ENC_TYPE_NAME,
	                                     sizeof(GbNvencH264EncClass), nvenc_class_init,
	                                     sizeof(GbNvencH264Enc), nvenc_instance_init, 0);
	return type;
}
