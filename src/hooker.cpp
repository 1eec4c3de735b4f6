#include "attnhook/hooker.h"

#include "attnhook/error.h"
#include "capture.h"
#include "op_observer.h"

namespace attnhook {

AttentionHooker::AttentionHooker(std::shared_ptr<torch::nn::Module> model, HookerOptions options)
    : mechanism_(detail::make_op_observer(std::move(model), options)),
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

}  // namespace attnhook
