// The tour in the window: the bundled lesson tour or a user's tour file (engine/spec/tour.h),
// stepped through with PageDown / PageUp (and the arrow keys in presentation mode), a dock listing
// its steps to jump to, and the Tour menu (open, save, add the experiment on screen as a step,
// export as a folder of lecture figures). A step applies its preset through the preset document
// (one undo step) and opens its view; the run goes through the window's RunController, and every
// control stays live at every step.
#pragma once

#include "spec/tour.h"

#include <QObject>
#include <QString>
#include <QWidget>

#include <vector>

class QAction;
class QDockWidget;
class QLabel;
class QListWidget;
class QMenu;
class QPushButton;

namespace initscope::ui {

class MainWindow;
class TourPanel;

/// Reads a tour file and its steps' presets (files relative to the tour's folder). On failure
/// returns false and sets `error`: which file, then one line per problem naming step and field.
bool readTourAndStops(const QString& path, Tour* tour, std::vector<TourStop>* stops,
                      QString* error);
/// Writes `tour` to `path` through writeFileReplacing (filewrite.h).
bool saveTour(const Tour& tour, const QString& path, QString* error);
/// Whether `path` is a tour file (a .json whose "format" is "initscope-tour").
bool isTourFile(const QString& path);

class TourController : public QObject {
    Q_OBJECT
public:
    explicit TourController(MainWindow* window);

    /// Starts the bundled lesson tour at its first step.
    void startLessonTour();
    /// Opens a tour file and shows its first step; on failure changes nothing, records the
    /// message (lastError) and shows it unless dialogs are off.
    bool openFile(const QString& path);
    /// Takes `tour` (its steps already resolved into `stops`) and shows step `first`.
    void setTour(const Tour& tour, std::vector<TourStop> stops, const QString& file, int first = 0);
    /// Saves the tour to `path` (its file steps are written as they were given).
    bool saveAs(const QString& path, QString* error = nullptr);
    /// Appends the experiment on screen (its preset, inline, and its view) as a step; starts a
    /// tour of the user's own when none is open. Returns the new step's index.
    int addCurrentExperiment(const QString& note = QString());
    /// Removes step `index`.
    bool removeStep(int index);

    const Tour& tour() const { return tour_; }
    const std::vector<TourStop>& stops() const { return stops_; }
    QString file() const { return file_; }
    int count() const { return static_cast<int>(stops_.size()); }
    int current() const { return current_; }
    bool isActive() const { return !stops_.empty(); }
    const TourStop* currentStop() const;

    /// Shows step `index` (0-based): applies its preset and opens its view.
    bool goTo(int index);
    bool next();
    bool previous();

    /// The Tour menu and the navigation actions (their shortcuts are the window's).
    void addMenu(QMenu* menu);
    QAction* nextAction() const { return next_; }
    QAction* previousAction() const { return previous_; }
    /// Left and Right: active in presentation mode only (elsewhere they move sliders).
    QAction* nextArrowAction() const { return nextArrow_; }
    QAction* previousArrowAction() const { return previousArrow_; }
    QDockWidget* dock() const { return dock_; }
    TourPanel* panel() const { return panel_; }
    QString lastError() const { return lastError_; }
    void setDialogsEnabled(bool on) { dialogs_ = on; }
    /// Presentation mode turns the arrow keys on.
    void setArrowKeys(bool on);

signals:
    void tourChanged();
    void stepChanged(int index);

private:
    void updateActions();
    void openDialog();
    void saveDialog();
    void exportDialog();
    void error(const QString& title, const QString& text);

    MainWindow* window_;
    Tour tour_;
    std::vector<TourStop> stops_;
    QString file_;
    int current_ = -1;
    QAction* next_ = nullptr;
    QAction* previous_ = nullptr;
    QAction* nextArrow_ = nullptr;
    QAction* previousArrow_ = nullptr;
    QAction* save_ = nullptr;
    QAction* export_ = nullptr;
    QDockWidget* dock_ = nullptr;
    TourPanel* panel_ = nullptr;
    QString lastError_;
    bool dialogs_ = true;
    bool arrows_ = false;
};

/// The tour dock: its title, the step list (a click jumps), the step's note, previous / next.
class TourPanel : public QWidget {
    Q_OBJECT
public:
    explicit TourPanel(TourController* tour, QWidget* parent = nullptr);
    QListWidget* list() const { return list_; }
    QLabel* noteLabel() const { return note_; }

private:
    void fill();
    void showStep(int index);

    TourController* tour_;
    QLabel* title_;
    QListWidget* list_;
    QLabel* note_;
    QPushButton* previous_;
    QPushButton* next_;
};

} // namespace initscope::ui
