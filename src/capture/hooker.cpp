#include "attnhook/hooker.h"

#include "capture/mechanism.h"
#include "capture/torchnn/op_observer.h"
#include "capture/torchscript/script_capture.h"
#include "check.h"

namespace attnhook {

AttentionHooker::AttentionHooker(std::shared_ptr<torch::nn::Module> model, HookerOptions options)
    : mechanism_(detail::make_op_observer(std::move(model), options)) {}

AttentionHooker::AttentionHooker(const torch::jit::Module& model, HookerOptions options)
    : mechanism_(detail::make_torchscript_capture(model, options)) {}

AttentionHooker::~AttentionHooker() noexcept { remove_hooks(); }

AttentionHooker::AttentionHooker(AttentionHooker&& other) noexcept = default;

AttentionHooker& AttentionHooker::operator=(AttentionHooker&& other) noexcept {
  if (this != &other) {
    remove_hooks();
    mechanism_ = std::move(other.mechanism_);
  }
  return *this;
}

AttentionHooker& AttentionHooker::setup() {
  ATTNHOOK_CHECK(mechanism_, "AttentionHooker::setup: this hooker was moved from");
  mechanism_->install();
  return *this;
}

void AttentionHooker::remove_hooks() noexcept {
  if (mechanism_) mechanism_->uninstall();
}

void AttentionHooker::clear() {
  if (mechanism_) mechanism_->recorder()->clear();
}

bool AttentionHooker::active() const { return mechanism_ && mechanism_->recorder()->active(); }

Values AttentionHooker::values() const { return mechanism_ ? mechanism_->recorder()->values() : Values(); }

std::vector<std::string> AttentionHooker::hooked_names() const {
  return mechanism_ ? mechanism_->recorder()->hooked_names() : std::vector<std::string>();
}

torch::jit::Module& AttentionHooker::module() {
  torch::jit::Module* hooked = mechanism_ ? mechanism_->hooked_module() : nullptr;
  ATTNHOOK_CHECK(hooked, "AttentionHooker::module: {}",
                 mechanism_ ? "this hooker hooks a torch::nn model; run that model itself"
                            : "this hooker was moved from");
  return *hooked;
}

}  // namespace attnhook
