// A small filesystem that can be filled up, for tests of what a write onto a full disk does: a
// tmpfs of a few pages mounted on a fresh folder (needs root, or CAP_SYS_ADMIN; without it the
// test is skipped and says why). fill() takes every free block, so the next write gets ENOSPC,
// exactly as on a full disk. Plain POSIX: used by the GoogleTest and the Qt Test suites.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

namespace initscope::test {

class FullDisk {
public:
    explicit FullDisk(const char* size = "256k") {
        char tmpl[] = "/tmp/initscope-fulldisk-XXXXXX";
        if (!::mkdtemp(tmpl)) {
            reason_ = std::string("mkdtemp failed: ") + std::strerror(errno);
            return;
        }
        dir_ = tmpl;
        if (::geteuid() != 0) {
            reason_ = "not running as root: cannot mount a small tmpfs to fill up";
            return;
        }
        const std::string options = std::string("size=") + size + ",mode=0700";
        if (::mount("initscope-fulldisk", dir_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
            reason_ = std::string("cannot mount a tmpfs (") + std::strerror(errno) +
                      "): this container does not allow mounts";
            return;
        }
        mounted_ = true;
    }
    ~FullDisk() {
        if (mounted_)
            ::umount2(dir_.c_str(), MNT_DETACH);
        if (!dir_.empty())
            ::rmdir(dir_.c_str());
    }
    FullDisk(const FullDisk&) = delete;
    FullDisk& operator=(const FullDisk&) = delete;

    bool mounted() const { return mounted_; }
    /// Why the disk is not available (empty when mounted).
    const std::string& reason() const { return reason_; }
    const std::string& dir() const { return dir_; }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }

    /// Writes a filler file until the filesystem refuses with ENOSPC; true when it did.
    bool fill() {
        const int fd = ::open(path(".filler").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd < 0)
            return false;
        const std::vector<char> block(4096, 'x');
        int err = 0;
        // whole blocks, then single bytes, so that not even a partial page stays free
        for (std::size_t chunk : {block.size(), std::size_t(1)}) {
            while (true) {
                if (::write(fd, block.data(), chunk) < 0) {
                    err = errno;
                    break;
                }
            }
        }
        ::close(fd);
        return err == ENOSPC;
    }

private:
    std::string dir_, reason_;
    bool mounted_ = false;
};

} // namespace initscope::test
