#include "core/train/DistributedGroup.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <sstream>
#include <vector>

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "core/Error.h"

namespace samscape {
namespace {

// LibTorch 2 split the communication backends (ProcessGroupGloo, ProcessGroupNCCL) from the
// user-facing ProcessGroup: they derive from c10d::Backend there, from c10d::ProcessGroup in 1.13.
// Both bases offer the same collectives with the same signatures, which is all samscape uses.
#if TORCH_VERSION_MAJOR >= 2
using CommunicationBackend = c10d::Backend;
#else
using CommunicationBackend = c10d::ProcessGroup;
#endif

std::string firstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

// c10d's messages carry a C++ backtrace after the first line: the first line is the message.
std::string describe(const std::exception& error) {
  if (const auto* c10Error = dynamic_cast<const c10::Error*>(&error)) {
    return firstLine(c10Error->what_without_backtrace());
  }
  return firstLine(error.what());
}

bool isLoopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

#if TORCH_VERSION_MAJOR >= 2
// LibTorch 2's TCPStore can take over a listening socket: binding it ourselves keeps the rendezvous
// on --master-addr (loopback by default) instead of every interface.
int listenOn(const std::string& address, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int status = getaddrinfo(address.c_str(), service.c_str(), &hints, &found); status != 0) {
    throw DistributedError("--master-addr " + address + ": cannot resolve it: " + gai_strerror(status));
  }
  std::string problem = "no address";
  int listening = -1;
  for (addrinfo* candidate = found; candidate != nullptr && listening < 0; candidate = candidate->ai_next) {
    const int fd = socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC, candidate->ai_protocol);
    if (fd < 0) continue;
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 && listen(fd, 128) == 0) {
      listening = fd;
    } else {
      problem = std::strerror(errno);
      close(fd);
    }
  }
  freeaddrinfo(found);
  if (listening < 0) {
    throw DistributedError("rank 0 cannot listen on " + address + ":" + service + " (--master-addr, --master-port): " +
                           problem);
  }
  return listening;
}
#endif

}  // namespace

struct DistributedGroup::Impl {
  DistributedOptions options;
  torch::Device device = torch::kCPU;
  std::chrono::milliseconds timeout{0};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<CommunicationBackend> backend;

  std::string where() const {
    return "rank " + std::to_string(options.rank) + " of " + std::to_string(options.worldSize);
  }

  // Waits for a collective; any failure (a peer that closed its connection because it died, or one
  // that did not answer within the timeout) becomes a DistributedError.
  template <typename WorkPointer>
  void finish(const WorkPointer& work, const std::string& purpose) {
    try {
      work->wait();
    } catch (const std::exception& error) {
      std::ostringstream message;
      message << where() << ": " << purpose << " failed: another rank died, or did not answer within --dist-timeout "
              << options.timeoutSeconds << " s (" << describe(error) << ")";
      throw DistributedError(message.str());
    }
  }
};

DistributedGroup::DistributedGroup(const DistributedOptions& options, const torch::Device& device)
    : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  validateDistributedOptions(options);
  s.options = options;
  s.device = device;
  s.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(options.timeoutSeconds * 1000.0)));

  c10d::TCPStoreOptions storeOptions;
  storeOptions.port = static_cast<std::uint16_t>(options.masterPort);
  storeOptions.isServer = options.rank == 0;
  storeOptions.numWorkers = static_cast<std::size_t>(options.worldSize);
  storeOptions.waitWorkers = true;
  storeOptions.timeout = s.timeout;
  try {
#if TORCH_VERSION_MAJOR >= 2
    if (storeOptions.isServer) {
      storeOptions.masterListenFd = listenOn(options.masterAddress, options.masterPort);
      storeOptions.useLibUV = false;  // the classic server is the one documented to take a socket over
    }
#endif
    s.store = c10::make_intrusive<c10d::TCPStore>(options.masterAddress, storeOptions);
  } catch (const DistributedError&) {
    throw;
  } catch (const std::exception& error) {
    std::ostringstream message;
    message << s.where() << ": the rendezvous at " << options.masterAddress << ":" << options.masterPort
            << " (--master-addr, --master-port) failed within --dist-timeout " << options.timeoutSeconds
            << " s: " << describe(error);
    throw DistributedError(message.str());
  }
  // A prefix keeps this job's keys apart from anything else that might share the store.
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("samscape", s.store);

  try {
    if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
      auto ncclOptions = c10d::ProcessGroupNCCL::Options::create();
      ncclOptions->timeout = s.timeout;
      s.backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, options.rank, options.worldSize, ncclOptions);
#else
      throw DistributedError("--device " + device.str() +
                             ": this LibTorch has no NCCL, so a multi-process job cannot run on CUDA");
#endif
    } else {
      auto glooOptions = c10d::ProcessGroupGloo::Options::create(s.timeout);
      // Gloo's pairs bind to the address this rank is reached at: loopback for a one-machine job,
      // the interface GLOO_SOCKET_IFNAME names or the host name's address otherwise.
      if (isLoopback(options.masterAddress)) {
        glooOptions->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface != nullptr && *interface) {
        glooOptions->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
      } else {
        glooOptions->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      glooOptions->threads = 2;
      s.backend = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, options.rank, options.worldSize, glooOptions);
    }
  } catch (const DistributedError&) {
    throw;
  } catch (const std::exception& error) {
    throw DistributedError(s.where() + ": forming the process group failed within --dist-timeout " +
                           std::to_string(options.timeoutSeconds) + " s: " + describe(error));
  }
}

DistributedGroup::~DistributedGroup() = default;

int DistributedGroup::rank() const { return impl_->options.rank; }
int DistributedGroup::worldSize() const { return impl_->options.worldSize; }
const DistributedOptions& DistributedGroup::options() const { return impl_->options; }

void DistributedGroup::allReduceSum(torch::Tensor& tensor, const std::string& purpose) {
  auto& s = *impl_;
  std::vector<torch::Tensor> tensors{tensor};
  c10d::AllreduceOptions reduceOptions;
  reduceOptions.reduceOp = c10d::ReduceOp::SUM;
  reduceOptions.timeout = s.timeout;
  try {
    s.finish(s.backend->allreduce(tensors, reduceOptions), purpose);
  } catch (const DistributedError&) {
    throw;
  } catch (const std::exception& error) {  // thrown when the operation is enqueued, e.g. a closed pair
    throw DistributedError(s.where() + ": " + purpose + " failed: another rank died or did not answer (" +
                           describe(error) + ")");
  }
}

void DistributedGroup::broadcastFromFirstRank(torch::Tensor& tensor, const std::string& purpose) {
  auto& s = *impl_;
  std::vector<torch::Tensor> tensors{tensor};
  c10d::BroadcastOptions broadcastOptions;
  broadcastOptions.rootRank = 0;
  broadcastOptions.timeout = s.timeout;
  try {
    s.finish(s.backend->broadcast(tensors, broadcastOptions), purpose);
  } catch (const DistributedError&) {
    throw;
  } catch (const std::exception& error) {
    throw DistributedError(s.where() + ": " + purpose + " failed: another rank died or did not answer (" +
                           describe(error) + ")");
  }
}

bool DistributedGroup::anyRank(bool value, const std::string& purpose) {
  torch::Tensor count = torch::full({1}, value ? 1.0 : 0.0, torch::dtype(torch::kFloat64).device(impl_->device));
  allReduceSum(count, purpose);
  return count.item<double>() > 0.0;
}

void DistributedGroup::requireSameOnEveryRank(double value, const std::string& what) {
  auto& s = *impl_;
  // max(v) and max(-v) = -min(v) in one collective.
  torch::Tensor extremes = torch::tensor({value, -value}, torch::dtype(torch::kFloat64)).to(s.device);
  std::vector<torch::Tensor> tensors{extremes};
  c10d::AllreduceOptions reduceOptions;
  reduceOptions.reduceOp = c10d::ReduceOp::MAX;
  reduceOptions.timeout = s.timeout;
  try {
    s.finish(s.backend->allreduce(tensors, reduceOptions), "comparing " + what);
  } catch (const DistributedError&) {
    throw;
  } catch (const std::exception& error) {
    throw DistributedError(s.where() + ": comparing " + what + " failed (" + describe(error) + ")");
  }
  const auto values = extremes.cpu();
  const double largest = values[0].item<double>();
  const double smallest = -values[1].item<double>();
  if (largest != smallest) {
    std::ostringstream message;
    message.precision(17);
    message << s.where() << ": " << what << " differs between ranks (from " << smallest << " to " << largest
            << "); the ranks no longer train the same model";
    throw DistributedError(message.str());
  }
}

}  // namespace samscape
