// The experiment as a document of the main window: open and save preset files (Ctrl+O, Ctrl+S,
// Save As), recent files, the preset browser dock, drag and drop of a preset or of a figure
// initscope exported, and the error dialog for a file that cannot be used. A file that fails to
// open changes nothing; a save goes through QSaveFile, so a failed save keeps the old file.
//
// The document also keeps the undo history of the settings (Edit > Undo, Ctrl+Z): every change
// of the experiment's spec, by any control, gain button or menu, is one step holding the whole
// spec before and after; the changes of one field during a slider drag, or within kMergeMs of
// each other, merge into one step; loading a preset is one step that also restores the
// document it replaced (its name, file and saved state).
#pragma once

#include "spec/preset.h"

#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>

class QAction;
class QDockWidget;
class QMenu;
class QUndoStack;

namespace initscope::ui {

class MainWindow;
class PresetBrowser;

class PresetDocument : public QObject {
    Q_OBJECT
public:
    static constexpr int kMaxRecent = 8;
    /// Consecutive changes of the same fields closer than this merge into one undo step (arrow
    /// keys held on a spin box); during a slider drag they always do.
    static constexpr int kMergeMs = 800;

    explicit PresetDocument(MainWindow* window);

    /// Adds Open, Open Recent, Save, Save As and Save to my presets to `file`.
    void addFileActions(QMenu* file);
    QDockWidget* browserDock() const { return dock_; }
    /// Shows the browser's dock in front, with the search field focused.
    void showBrowser();
    PresetBrowser* browser() const { return browser_; }

    /// Opens a preset .json, or the experiment embedded in an exported .png / .svg. On failure
    /// shows (or, with dialogs off, only records) the message naming the field and the problem,
    /// and changes nothing.
    bool openFile(const QString& path);
    /// Sets every control from `preset`, runs it and opens its view: one undo step (the
    /// document's file is kept).
    void applyPreset(const Preset& preset);
    /// Saves to the current file (asks for one when there is none).
    bool save();
    bool saveAs(const QString& path);
    /// Saves into the user's presets folder under a name made from `title`.
    bool saveToUserPresets(const QString& title);

    /// The experiment on screen: the last opened preset's name, title and note with the
    /// controls' spec and the visible view.
    Preset currentPreset() const;
    QString currentFile() const { return file_; }
    QStringList recentFiles() const;
    /// The text of the last error dialog (empty when the last operation succeeded).
    QString lastError() const { return lastError_; }
    /// Whether the experiment on screen differs from the one last opened or saved (its spec;
    /// the visible tab is not part of it). The window's title shows it ("[*]").
    bool isModified() const;
    /// Updates the window's modified mark (after any change of the controls).
    void updateModified();
    /// The settings' undo history (its clean state is the spec last opened or saved).
    QUndoStack* undoStack() const { return undo_; }
    /// Adds Undo and Redo (their texts name what they change) to `edit`.
    void addEditActions(QMenu* edit);
    /// Records a change of the controls' spec as an undo step (the window calls it for every
    /// change of the settings; a change made by undo or redo itself is not recorded).
    void noteSpecChange();
    /// Forgets the undo history; the spec on screen is its start (after the start-up settings).
    void clearHistory();
    /// Tests turn the modal dialogs off; errors are then only recorded in lastError().
    void setDialogsEnabled(bool on) { dialogs_ = on; }

    static bool isOpenable(const QString& path);
    /// Who opens a tour file (a .json of format "initscope-tour") given to openFile: the
    /// window's tour. Returns false and sets the error text on failure.
    using TourOpener = std::function<bool(const QString& path, QString* error)>;
    void setTourOpener(TourOpener opener) { tourOpener_ = std::move(opener); }

    // ---- for the undo steps
    /// What an undo step restores: the spec and the document's identity.
    struct State {
        NetworkSpec spec;
        Preset base;
        QString file;
        NetworkSpec saved;
    };
    /// Undo and redo: shows `spec` in the controls and runs it, without recording a step.
    void restoreSpec(const NetworkSpec& spec);
    /// The same for a whole document (undo and redo of a preset load).
    void restoreState(const State& state);
    State state() const;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    /// Sets every control from `preset`, names the document after `file` and records the load
    /// as one undo step called `what`.
    void load(const Preset& preset, const QString& file, const QString& what);
    /// Sets every control from `preset`, runs it and opens its view.
    void showPreset(const Preset& preset);
    void openDialog();
    void saveAsDialog();
    void saveToUserDialog();
    /// false (and `error`) when the recent list could not be saved
    bool addRecent(const QString& path, QString* error = nullptr);
    void fillRecentMenu();
    void error(const QString& title, const QString& text);
    void updateTitle();

    MainWindow* window_;
    PresetBrowser* browser_;
    QDockWidget* dock_;
    QMenu* recentMenu_ = nullptr;
    Preset base_; // name, title, note of the experiment (spec and view come from the window)
    QString file_;
    QString baseTitle_; // the window's title before a file was named in it
    QString lastError_;
    NetworkSpec savedSpec_; // the spec last opened or saved
    QUndoStack* undo_;
    NetworkSpec recorded_;   // the spec the undo history is at
    bool restoring_ = false; // undo or redo is setting the controls
    bool dialogs_ = true;
    TourOpener tourOpener_;
};

} // namespace initscope::ui
