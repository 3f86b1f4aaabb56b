package imagegen

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// pluginRegistrations remembers, per library path, the result of
// registering a plugin execution provider: ONNX Runtime registers a library
// once per environment, so every later Generator reuses the first result.
var pluginRegistrations sync.Map // path -> *pluginRegistration

type pluginRegistration struct {
	once sync.Once
	err  error
}

// cudaPluginName is the registration name given to the CUDA plugin.
const cudaPluginName = "CUDA"

func registerPlugin(path string) error {
	v, _ := pluginRegistrations.LoadOrStore(path, &pluginRegistration{})
	r := v.(*pluginRegistration)
	r.once.Do(func() {
		if _, err := os.Stat(path); err != nil {
			r.err = fmt.Errorf("CUDA plugin library %q: %v (set ORT_CUDA_PLUGIN to libonnxruntime_providers_cuda.so of the plugin build)", path, err)
			return
		}
		if err := ort.RegisterExecutionProviderLibrary(cudaPluginName, path); err != nil {
			r.err = fmt.Errorf("registering CUDA plugin %q: %v", path, err)
		}
	})
	return r.err
}

// cudaOptions adds CUDA to opts: through the plugin library when one is
// named (register it, then prefer GPU devices), else through the classic
// AppendExecutionProviderCUDA of a GPU build.
func cudaOptions(opts *ort.SessionOptions, plugin string) error {
	if plugin != "" {
		if err := registerPlugin(plugin); err != nil {
			return err
		}
		return setEPSelectionPolicy(opts, epPolicyPreferGPU)
	}
	co, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("CUDA provider options: %v (this ONNX Runtime has no CUDA; set ORT_CUDA_PLUGIN to the CUDA plugin library)", err)
	}
	defer co.Destroy()
	if err := opts.AppendExecutionProviderCUDA(co); err != nil {
		return fmt.Errorf("appending CUDA: %v (this ONNX Runtime has no CUDA; set ORT_CUDA_PLUGIN to the CUDA plugin library)", err)
	}
	return nil
}

// newSession creates the session on the requested device. For "auto" it
// tries CUDA first and falls back to CPU, logging why.
func newSession(model []byte, info *ModelInfo, device string, cfg Config, log *slog.Logger) (*ort.DynamicAdvancedSession, string, error) {
	plugin := cfg.CUDAPlugin
	if plugin == "" {
		plugin = os.Getenv("ORT_CUDA_PLUGIN")
	}
	inputs := []string{info.ZName}
	if info.PsiName != "" {
		inputs = append(inputs, info.PsiName)
	}
	outputs := []string{info.ImageName}

	create := func(cuda bool) (*ort.DynamicAdvancedSession, error) {
		opts, err := ort.NewSessionOptions()
		if err != nil {
			return nil, fmt.Errorf("%w: session options: %v", ErrRuntime, err)
		}
		defer opts.Destroy()
		if cfg.IntraOpThreads > 0 {
			if err := opts.SetIntraOpNumThreads(cfg.IntraOpThreads); err != nil {
				return nil, fmt.Errorf("%w: IntraOpThreads %d: %v", ErrConfig, cfg.IntraOpThreads, err)
			}
		}
		if cuda {
			if err := cudaOptions(opts, plugin); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrDevice, err)
			}
		}
		s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, inputs, outputs, opts)
		if err != nil {
			if cuda {
				return nil, fmt.Errorf("%w: creating a CUDA session: %v", ErrDevice, err)
			}
			return nil, fmt.Errorf("%w: creating the session: %v", ErrModel, err)
		}
		return s, nil
	}

	switch device {
	case DeviceCUDA:
		s, err := create(true)
		return s, DeviceCUDA, err
	case DeviceAuto:
		s, err := create(true)
		if err == nil {
			log.Info("imagegen: device auto: using CUDA", "plugin", plugin)
			return s, DeviceCUDA, nil
		}
		if !errors.Is(err, ErrDevice) {
			return nil, "", err
		}
		log.Info("imagegen: device auto: CUDA unavailable, using CPU", "reason", err.Error())
	}
	s, err := create(false)
	return s, DeviceCPU, err
}
