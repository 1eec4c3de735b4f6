#include "attnhook/hooker.h"

#include "attnhook/error.h"

#include "capture/torchnn/op_observer.h"
#include "capture/torchscript/script_capture.h"

namespace attnhook {

AttentionHooker::AttentionHooker(std::shared_ptr<torch::nn::Module> model, HookerOptions options)
    : mechanism_(detail::make_op_observer(std::move(model), options)),
      recorder_(mechanism_->recorder()) {}

AttentionHooker::AttentionHooker(const torch::jit::Module& model, HookerOptions options)
    : mechanism_(detail::make_torchscript_capture(model, options)),
      recorder_(mechanism_->recorder()) {}

AttentionHooker::~AttentionHooker() noexcept { remove_hooks(); }

AttentionHooker::AttentionHooker(AttentionHooker&& other) noexcept = default;

AttentionHooker& AttentionHooker::operator=(AttentionHooker&& other) noexcept {
  if (this != &other) {
    remove_hooks();
    mechanism_ = std::move(other.mechanism_);
    recorder_ = std::move(other.recorder_);
    values_ = std::move(other.values_);
  }
  return *this;
}

AttentionHooker& AttentionHooker::setup() {
  if (!mechanism_) throw Error("AttentionHooker::setup: this hooker was moved from");
  mechanism_->install();
  return *this;
}

void AttentionHooker::remove_hooks() noexcept {
  if (mechanism_) mechanism_->uninstall();
}

void AttentionHooker::clear() {
  if (recorder_) recorder_->clear();
  values_.clear();
}

bool AttentionHooker::active() const { return recorder_ && recorder_->active(); }

const Values& AttentionHooker::values() const {
  values_ = recorder_ ? recorder_->values() : Values();
  return values_;
}

std::vector<std::string> AttentionHooker::hooked_names() const {
  return recorder_ ? recorder_->names() : std::vector<std::string>();
}

torch::jit::Module& AttentionHooker::module() {
  torch::jit::Module* hooked = mechanism_ ? mechanism_->hooked_module() : nullptr;
  if (!hooked) {
    throw Error(mechanism_ ? "AttentionHooker::module: this hooker hooks a torch::nn model; run that model itself"
                           : "AttentionHooker::module: this hooker was moved from");
  }
  return *hooked;
}

}  // namespace attnhook
